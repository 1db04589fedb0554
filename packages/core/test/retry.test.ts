import test from 'ava';
import {
  AccessDeniedError,
  ConfigError,
  DEFAULT_TRANSFER_POLICY,
  TransferError,
  parseFlinkDuration,
  readTransferPolicy,
  withRetries,
  type RetryNotice,
} from '../src/index.ts';

/** A fake clock whose sleep advances it: the loop's timing, without waiting. */
function fakeTime(): { now: () => number; sleep: (ms: number) => Promise<void>; slept: number[] } {
  let clock = 0;
  const slept: number[] = [];
  return {
    now: () => clock,
    sleep: async (ms) => {
      slept.push(ms);
      clock += ms;
    },
    slept,
  };
}

const transient = (): TransferError => new TransferError('connection reset', { retryable: true });
const policy = { ...DEFAULT_TRANSFER_POLICY, maxAttempts: 5, initialBackoffMs: 100, maxBackoffMs: 1000, deadlineMs: 60_000 };

test('transient failures are retried with growing, jittered, capped waits until success', async (t) => {
  const time = fakeTime();
  const notices: RetryNotice[] = [];
  let calls = 0;
  const result = await withRetries(
    async () => {
      calls++;
      if (calls < 5) throw transient();
      return 'done';
    },
    { policy, now: time.now, sleep: time.sleep, random: () => 0.999, onRetry: (n) => notices.push(n) },
  );
  t.is(result, 'done');
  t.is(calls, 5);
  // Full jitter with random ~1: nearly the caps themselves, 100, 200, 400, 800 (cap 1000).
  t.deepEqual(time.slept, [100, 200, 400, 799]);
  t.deepEqual(notices.map((n) => n.attempt), [1, 2, 3, 4]);
  t.regex(String((notices[0]!.error as Error).message), /connection reset/);
});

test('waits never exceed the cap and are spread by jitter', async (t) => {
  const time = fakeTime();
  let calls = 0;
  await withRetries(
    async () => {
      if (++calls < 5) throw transient();
    },
    { policy: { ...policy, maxBackoffMs: 150 }, now: time.now, sleep: time.sleep, random: () => 0.5 },
  );
  t.deepEqual(time.slept, [50, 75, 75, 75]);
});

test('permanent failures are not retried', async (t) => {
  const time = fakeTime();
  let calls = 0;
  await t.throwsAsync(
    withRetries(
      async () => {
        calls++;
        throw new AccessDeniedError('denied');
      },
      { policy, now: time.now, sleep: time.sleep },
    ),
    { instanceOf: AccessDeniedError },
  );
  t.is(calls, 1);
  t.deepEqual(time.slept, []);
});

test('attempts and the deadline bound the loop; the last error is the one thrown', async (t) => {
  let calls = 0;
  const time = fakeTime();
  await t.throwsAsync(
    withRetries(
      async () => {
        calls++;
        throw new TransferError(`failure ${calls}`, { retryable: true });
      },
      { policy: { ...policy, maxAttempts: 3 }, now: time.now, sleep: time.sleep, random: () => 1 },
    ),
    { message: 'failure 3' },
  );
  t.is(calls, 3);

  calls = 0;
  const slow = fakeTime();
  await t.throwsAsync(
    withRetries(
      async () => {
        calls++;
        throw transient();
      },
      { policy: { ...policy, maxAttempts: 100, deadlineMs: 1000 }, now: slow.now, sleep: slow.sleep, random: () => 1 },
    ),
  );
  t.true(slow.now() <= 1000, 'no wait goes past the deadline');
  t.true(calls < 100);
});

test('an abort stops the waiting', async (t) => {
  const controller = new AbortController();
  const pending = withRetries(
    async () => {
      throw transient();
    },
    { policy: { ...policy, initialBackoffMs: 60_000, maxBackoffMs: 60_000, deadlineMs: 600_000 }, signal: controller.signal, random: () => 1 },
  );
  setTimeout(() => controller.abort('SIGTERM'), 20);
  await t.throwsAsync(pending, { code: 'ERR_ABORTED' });
});

test('Flink durations and the retry keys parse, and bad values name their key', (t) => {
  t.is(parseFlinkDuration('500 ms', 'k'), 500);
  t.is(parseFlinkDuration('30s', 'k'), 30_000);
  t.is(parseFlinkDuration('5 min', 'k'), 300_000);
  t.is(parseFlinkDuration('1 h', 'k'), 3_600_000);
  t.is(parseFlinkDuration('250', 'k'), 250);
  t.throws(() => parseFlinkDuration('soon', 'flink-artifacts.timeout.idle'), { instanceOf: ConfigError, message: /flink-artifacts\.timeout\.idle/ });
  const read = readTransferPolicy(new Map([['flink-artifacts.retry.max-attempts', '3'], ['flink-artifacts.timeout.idle', '2 s']]));
  t.is(read.maxAttempts, 3);
  t.is(read.idleTimeoutMs, 2000);
  t.throws(() => readTransferPolicy(new Map([['flink-artifacts.retry.max-attempts', '0']])), { instanceOf: ConfigError });
});
