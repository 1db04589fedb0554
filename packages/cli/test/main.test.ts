import { join } from 'node:path';
import test from 'ava';
import { tempDir, writeFixture } from '@flink-artifacts/test-helpers/fixtures';
import { normalizeArgv } from '../src/argv.ts';
import { createFetchProgress } from '../src/progress.ts';
import { main, type CliIo } from '../src/main.ts';

function memoryIo(options: { tty?: boolean; env?: Record<string, string> } = {}): CliIo & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: { write: (text: string) => (out += text) },
    stderr: { write: (text: string) => (err += text), isTTY: options.tty ?? false, columns: 80 },
    env: options.env ?? {},
    cwd: process.cwd(),
    out: () => out,
    err: () => err,
  };
}

test('-Dkey=value is split for the parser; other arguments are untouched', (t) => {
  t.deepEqual(normalizeArgv(['fetch', '-Da=b=c', '-D', 'x=y', '--json', 's3://b/k.jar']), ['fetch', '-D', 'a=b=c', '-D', 'x=y', '--json', 's3://b/k.jar']);
});

test('--help and --version exit 0 on stdout; no command or an unknown one exits 2', async (t) => {
  const help = memoryIo();
  t.is(await main(['--help'], help), 0);
  t.regex(help.out(), /fetch \[job-uri\]/);
  const version = memoryIo();
  t.is(await main(['--version'], version), 0);
  t.regex(version.out(), /^\d+\.\d+\.\d+/);
  const none = memoryIo();
  t.is(await main([], none), 2);
  t.regex(none.err(), /Give a command/);
  const unknown = memoryIo();
  t.is(await main(['fetchh'], unknown), 2);
});

test('in-process fetch of file:// artifacts returns 0 and prints a summary', async (t) => {
  const src = await tempDir();
  await writeFixture(join(src, 'job.jar'), 'job');
  const base = await tempDir();
  const io = memoryIo();
  const code = await main(['fetch', `file://${src}/job.jar`, '-Dkubernetes.cluster-id=app', `-Duser.artifacts.base-dir=${base}`], io);
  t.is(code, 0, io.err());
  t.regex(io.out(), /1 fetched \(3 B\), 0 reused in .*\/default\/app/);
  t.regex(io.out(), /job jar: +.*\/default\/app\/job\.jar/);
});

test('credentials given as options are masked in anything printed', async (t) => {
  const io = memoryIo();
  // The secret appears in a malformed -D entry that ends up in an error message.
  const code = await main(['fetch', 's3://b/k.jar', '-Ds3.access-key=AKIAEXAMPLE', '-Ds3.secret-key=SuperSecretValue', '-Dkubernetes.cluster-id=Bad_SuperSecretValue'], io);
  t.is(code, 2);
  t.false(io.err().includes('SuperSecretValue'), io.err());
  t.regex(io.err(), /\*\*\*/);
});

test('a TTY gets a progress bar that is cleared before the log line; a pipe gets lines only', (t) => {
  let clock = 0;
  let tty = '';
  const progress = createFetchProgress({ write: (s: string) => (tty += s), isTTY: true, columns: 80 }, () => clock);
  progress.onEvent({ type: 'planned', total: 2 });
  progress.onEvent({ type: 'start', uri: 's3://b/a.jar', size: 1000 });
  clock = 500;
  progress.onEvent({ type: 'progress', uri: 's3://b/a.jar', bytes: 500 });
  t.regex(tty, /\[#+\.+\] 0\/2 files {2}500 B/);
  progress.onEvent({ type: 'done', result: { role: 'job', uri: 's3://b/a.jar', path: '/x/a.jar', status: 'fetched', bytes: 1000 } });
  t.regex(tty, /\u001b\[2Kfetched +s3:\/\/b\/a\.jar -> \/x\/a\.jar \(1000 B in 500 ms\)\n/);
  progress.finish();

  let pipe = '';
  const lines = createFetchProgress({ write: (s: string) => (pipe += s) }, () => 0);
  lines.onEvent({ type: 'planned', total: 1 });
  lines.onEvent({ type: 'progress', uri: 's3://b/a.jar', bytes: 10 });
  lines.onEvent({ type: 'done', result: { role: 'job', uri: 's3://b/a.jar', path: '/x/a.jar', status: 'reused', bytes: 0 } });
  t.is(pipe, 'reused  s3://b/a.jar -> /x/a.jar (unchanged, kept)\n');
});

test('the CLI\'s lists of formats, upgrade modes and JobManager kinds are the deploy package\'s', async (t) => {
  const { FORMATS, JOBMANAGER_KINDS, UPGRADE_MODES } = await import('../src/commands/render.ts');
  const deploy = await import('@flink-artifacts/deploy');
  t.deepEqual([...FORMATS], [...deploy.FORMATS]);
  t.deepEqual([...UPGRADE_MODES], [...deploy.UPGRADE_MODES]);
  t.deepEqual([...JOBMANAGER_KINDS], [...deploy.JOBMANAGER_KINDS]);
});
