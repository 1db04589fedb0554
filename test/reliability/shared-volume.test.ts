/**
 * Fetchers sharing one volume, as init containers do on a PVC: each PID 1 in its own PID
 * namespace (`unshare --pid --fork`, which needs root, as CI has), and a fetcher killed
 * mid-download whose successor continues the part file instead of starting over. Bytes are
 * counted at the (throttled) HTTP server.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { CLI_BIN, flinkArgs, runCli, startCli } from '@flink-artifacts/test-helpers/cli';
import { randomContent, readText, sha256Hex, tempDir, writeFixture } from '@flink-artifacts/test-helpers/fixtures';
import { startHttpServer } from '@flink-artifacts/test-helpers/http-server';
import { run as runProcess, type RunResult } from '@flink-artifacts/test-helpers/packages';
import { readFile } from 'node:fs/promises';

const MiB = 1024 * 1024;
// Reason: a new PID namespace needs root (CAP_SYS_ADMIN); CI runs as root.
const asRoot = process.getuid?.() === 0 ? test : test.skip;

/** Runs the CLI as PID 1 of a new PID namespace, as in a container. */
function fetchAsPid1(args: string[]): Promise<RunResult> {
  return runProcess('unshare', ['--pid', '--fork', process.execPath, CLI_BIN, ...args], process.cwd(), { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });
}

asRoot('two fetchers, each PID 1 in its own namespace, into one directory: neither touches the other\'s files, both get the right bytes', async (t) => {
  const root = await tempDir();
  const contents = { 'job.jar': randomContent(8 * MiB), 'udf.jar': randomContent(3 * MiB) };
  for (const [name, content] of Object.entries(contents)) await writeFixture(join(root, name), content);
  // 2 MiB/s: the first fetcher is still writing the job jar (4 s) when the second starts.
  const server = await startHttpServer({ root, bytesPerSecond: 2 * MiB });
  t.teardown(() => server.stop());
  const base = await tempDir();
  const args = ['fetch', `${server.url}/job.jar`, ...flinkArgs({ 'kubernetes.cluster-id': 'shared', 'user.artifacts.base-dir': base, 'user.artifacts.raw-http-enabled': 'true', 'user.artifacts.artifact-list': `${server.url}/udf.jar` })];
  const first = fetchAsPid1(args);
  await new Promise((resolve) => setTimeout(resolve, 2500));
  const stateDir = join(base, 'default', 'shared', '.flink-artifacts');
  t.true((await readdir(stateDir)).some((name) => name.endsWith('.part')), 'the first fetcher is mid-download');
  const second = fetchAsPid1(args);
  const [a, b] = await Promise.all([first, second]);
  t.is(a.code, 0, a.stderr);
  t.is(b.code, 0, b.stderr);
  for (const [name, content] of Object.entries(contents)) t.is(sha256Hex(await readFile(join(base, 'default', 'shared', name))), sha256Hex(content), name);
  t.deepEqual((await readdir(stateDir)).filter((name) => name.endsWith('.part') || name.endsWith('.part.json')), [], 'no temporary file is left');
  t.deepEqual(await readdir(join(stateDir, 'owners')), [], 'no heartbeat is left');
});

test('SIGKILL mid-download, then a new fetcher continues the part file: only the rest crosses the network', async (t) => {
  const root = await tempDir();
  const content = randomContent(32 * MiB);
  await writeFixture(join(root, 'big.jar'), content);
  const server = await startHttpServer({ root, bytesPerSecond: 8 * MiB });
  t.teardown(() => server.stop());
  const base = await tempDir();
  // One stream: the sequential part file's resume (ranges.test.ts covers a ranged one's).
  const args = ['fetch', `${server.url}/big.jar`, ...flinkArgs({ 'kubernetes.cluster-id': 'killed', 'user.artifacts.base-dir': base, 'user.artifacts.raw-http-enabled': 'true', 'flink-artifacts.fetch.parallel-ranges': '1' })];
  const stateDir = join(base, 'default', 'killed', '.flink-artifacts');

  const run = startCli(args);
  // Kill it (OOM, eviction) once a quarter of the file is on disk.
  let written = 0;
  for (let i = 0; i < 200 && written < 8 * MiB; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const parts = (await readdir(stateDir).catch(() => [] as string[])).filter((name) => name.endsWith('.part'));
    written = parts.length === 0 ? 0 : (await stat(join(stateDir, parts[0]!))).size;
  }
  run.child.kill('SIGKILL');
  await run.result;
  const left = (await readdir(stateDir)).filter((name) => name.endsWith('.part'));
  t.is(left.length, 1, 'the killed fetcher left its part file');
  const kept = (await stat(join(stateDir, left[0]!))).size;
  t.true(kept >= 8 * MiB && kept < content.length, `kept ${kept} bytes`);
  await t.throwsAsync(stat(join(base, 'default', 'killed', 'big.jar')), { code: 'ENOENT' }, 'nothing under the final name');

  const before = server.requests.length;
  const result = await runCli(args);
  t.is(result.code, 0, result.stderr);
  t.is(sha256Hex(await readFile(join(base, 'default', 'killed', 'big.jar'))), sha256Hex(content));
  const resumed = server.requests.slice(before).filter((r) => r.method === 'GET');
  t.is(resumed.length, 1);
  t.is(resumed[0]!.headers.range, `bytes=${kept}-`, 'asked for the rest, pinned to the version (If-Range)');
  t.truthy(resumed[0]!.headers['if-range']);
  t.is(resumed[0]!.bytes, content.length - kept, 'only the rest was sent');
  t.deepEqual((await readdir(stateDir)).filter((name) => name.endsWith('.part') || name.endsWith('.part.json')), []);
});

test('a killed fetcher\'s part of an object that changed since is not continued: fetched again whole', async (t) => {
  const root = await tempDir();
  await writeFixture(join(root, 'big.jar'), randomContent(16 * MiB));
  const server = await startHttpServer({ root, bytesPerSecond: 8 * MiB });
  t.teardown(() => server.stop());
  const base = await tempDir();
  const args = ['fetch', `${server.url}/big.jar`, ...flinkArgs({ 'kubernetes.cluster-id': 'changed', 'user.artifacts.base-dir': base, 'user.artifacts.raw-http-enabled': 'true' })];
  const stateDir = join(base, 'default', 'changed', '.flink-artifacts');
  const run = startCli(args);
  for (let i = 0; i < 200; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const parts = (await readdir(stateDir).catch(() => [] as string[])).filter((name) => name.endsWith('.part'));
    if (parts.length > 0 && (await stat(join(stateDir, parts[0]!))).size > 2 * MiB) break;
  }
  run.child.kill('SIGKILL');
  await run.result;
  const replaced = randomContent(16 * MiB + 7);
  await writeFixture(join(root, 'big.jar'), replaced);
  const result = await runCli(args);
  t.is(result.code, 0, result.stderr);
  t.is(sha256Hex(await readFile(join(base, 'default', 'changed', 'big.jar'))), sha256Hex(replaced), 'the new version, whole, never spliced');
  t.regex(await readText(join(stateDir, 'big.jar.fetched.json')), /"size": 16777223/);
});

test('two fetchers start together after one was killed: one continues its part file, the other starts afresh, both get the right bytes', async (t) => {
  const root = await tempDir();
  const content = randomContent(24 * MiB);
  await writeFixture(join(root, 'big.jar'), content);
  const server = await startHttpServer({ root, bytesPerSecond: 8 * MiB });
  t.teardown(() => server.stop());
  const base = await tempDir();
  const args = ['fetch', `${server.url}/big.jar`, ...flinkArgs({ 'kubernetes.cluster-id': 'race', 'user.artifacts.base-dir': base, 'user.artifacts.raw-http-enabled': 'true', 'flink-artifacts.fetch.parallel-ranges': '1' })];
  const stateDir = join(base, 'default', 'race', '.flink-artifacts');
  const run = startCli(args);
  for (let i = 0; i < 200; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const parts = (await readdir(stateDir).catch(() => [] as string[])).filter((name) => name.endsWith('.part'));
    if (parts.length > 0 && (await stat(join(stateDir, parts[0]!))).size >= 4 * MiB) break;
  }
  run.child.kill('SIGKILL');
  await run.result;
  // Both find the same leftover; only one can take it.
  const [a, b] = await Promise.all([runCli(args), runCli(args)]);
  t.is(a.code, 0, a.stderr);
  t.is(b.code, 0, b.stderr);
  t.is(sha256Hex(await readFile(join(base, 'default', 'race', 'big.jar'))), sha256Hex(content));
  t.deepEqual((await readdir(stateDir)).filter((name) => name.endsWith('.part') || name.endsWith('.part.json')), []);
});
