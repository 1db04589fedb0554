#!/usr/bin/env node
// Runs every test file with ava against real servers, and ends with "N passed, N failed".
//
// Starts one Ceph RGW (S3) and one Azurite (Azure Blob) for the whole run (tests share them, each
// with its own buckets and containers) unless FA_TEST_S3_* / FA_TEST_AZURE_ENDPOINT already point
// at one, and stops them afterwards. Other servers (HTTP, GCS test server) are started by the test
// files themselves. Extra arguments go to ava (e.g. a file).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const rgwScript = join(root, 'test', 'servers', 'rgw.sh');
const { startAzurite } = await import(join(root, 'test', 'servers', 'azurite.mjs'));

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// Tests send packets to loopback only: with no credentials, the AWS SDK's chain would ask the EC2
// metadata address and google-auth-library would probe the GCE metadata server.
const env = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', AWS_EC2_METADATA_DISABLED: 'true', METADATA_SERVER_DETECTION: 'none' };
let rgwDir;
if (!env.FA_TEST_S3_ENDPOINT) {
  rgwDir = join(root, '.tmp', `rgw-${process.pid}`);
  mkdirSync(dirname(rgwDir), { recursive: true });
  const port = await freePort();
  const monPort = await freePort();
  process.stdout.write(`# starting Ceph RGW on 127.0.0.1:${port} (${rgwDir})\n`);
  const started = Date.now();
  let out;
  try {
    out = execFileSync('bash', [rgwScript, 'start', rgwDir, String(port)], { env: { ...env, RGW_MON_PORT: String(monPort) }, encoding: 'utf8' });
  } catch (error) {
    process.stdout.write(`# Ceph RGW failed to start: ${error.stderr ?? error.message}\n0 passed, 1 failed\n`);
    process.exit(1);
  }
  for (const line of out.trim().split('\n')) {
    const [key, value] = line.split('=', 2);
    env[`FA_TEST_${key}`] = value;
  }
  process.stdout.write(`# Ceph RGW ready in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

let azurite;
const azuriteDir = join(root, '.tmp', `azurite-${process.pid}`);
if (!env.FA_TEST_AZURE_ENDPOINT) {
  const dir = azuriteDir;
  const started = Date.now();
  try {
    azurite = await startAzurite(dir, await freePort());
  } catch (error) {
    stopRgw();
    process.stdout.write(`# Azurite failed to start: ${error.message}\n0 passed, 1 failed\n`);
    process.exit(1);
  }
  env.FA_TEST_AZURE_ENDPOINT = azurite.endpoint;
  process.stdout.write(`# Azurite ready on ${azurite.endpoint} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

function stopRgw() {
  if (rgwDir === undefined) return;
  try {
    execFileSync('bash', [rgwScript, 'stop', rgwDir]);
  } catch {
    // best effort
  }
  // Its BlueStore file and logs: over a gigabyte a run, which filled the disk after some dozens.
  rmSync(rgwDir, { recursive: true, force: true });
  rgwDir = undefined;
}
async function stopServers() {
  stopRgw();
  if (azurite === undefined) return;
  await azurite.stop();
  azurite = undefined;
  rmSync(azuriteDir, { recursive: true, force: true });
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    stopRgw();
    azurite?.kill();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  });
}

// FA_SKIP_E2E=1 (scripts/test.sh --no-e2e) leaves out the pod tests, which need podman and the image,
// and nothing else: the patterns are ava's own (package.json "ava.files": packages/*/test and test/)
// with test/e2e taken out, so a directory added later is run too.
const E2E_DIR = 'test/e2e';
function testPatternsExcept(excluded) {
  const isTest = (name) => String(name).endsWith('.test.ts');
  const patterns = [];
  const add = (path) => {
    if (path === excluded || !existsSync(join(root, path))) return;
    if (statSync(join(root, path)).isDirectory()) {
      if (readdirSync(join(root, path), { recursive: true }).some(isTest)) patterns.push(`${path}/**/*.test.ts`);
    } else if (isTest(path)) {
      patterns.push(path);
    }
  };
  for (const name of readdirSync(join(root, 'packages'))) add(`packages/${name}/test`);
  for (const name of readdirSync(join(root, 'test'))) add(`test/${name}`);
  return patterns;
}
let files = [];
if (process.argv.slice(2).length === 0 && env.FA_SKIP_E2E === '1') {
  files = testPatternsExcept(E2E_DIR);
  process.stdout.write(`# FA_SKIP_E2E=1: leaving out ${E2E_DIR} (the pod tests: they need podman and the image), nothing else\n`);
  process.stdout.write(`# running ${files.join(' ')}\n`);
}
// Every process of the run (ava's workers, the CLI runs and tools the tests start) loads the
// loopback guard: a packet that would leave loopback is stopped, and recorded here unless the
// test declared it expected. Any record fails the run.
const loopbackReports = join(root, '.tmp', `loopback-${process.pid}`);
rmSync(loopbackReports, { recursive: true, force: true });
const preload = pathToFileURL(join(root, 'test', 'helpers', 'src', 'loopback-preload.mjs')).href;
// The tests' temporary directories (os.tmpdir()) under one directory of this run, removed with
// it at the end: thousands of them a run otherwise stay in /tmp.
const runTmp = mkdtempSync(join(tmpdir(), 'fa-run-'));
const avaEnv = {
  ...env,
  TMPDIR: runTmp,
  NODE_OPTIONS: `${env.NODE_OPTIONS ?? ''} --import=${preload}`.trim(),
  FA_LOOPBACK_REPORT_DIR: loopbackReports,
  // pnpm and npm would ask the registry whether they are the latest version.
  npm_config_update_notifier: 'false',
};
const ava = spawn(join(root, 'node_modules', '.bin', 'ava'), ['--tap', ...files, ...process.argv.slice(2)], {
  cwd: root,
  env: avaEnv,
  stdio: ['ignore', 'pipe', 'inherit'],
});
let passed = 0;
let failed = 0;
let skipped = 0;
createInterface({ input: ava.stdout }).on('line', (line) => {
  process.stdout.write(`${line}\n`);
  if (/^ok \d+/.test(line)) {
    if (/# (SKIP|TODO)/i.test(line)) skipped++;
    else passed++;
  } else if (/^not ok \d+/.test(line)) {
    if (/# TODO/i.test(line)) skipped++;
    else failed++;
  }
});
const code = await new Promise((resolve) => ava.once('close', (exitCode) => resolve(exitCode ?? 1)));
await stopServers();
if (env.FA_KEEP_TMP !== '1') rmSync(runTmp, { recursive: true, force: true });
for (const name of existsSync(loopbackReports) ? readdirSync(loopbackReports) : []) {
  const report = JSON.parse(readFileSync(join(loopbackReports, name), 'utf8'));
  for (const entry of report.blocked) {
    const target = entry.address === '(dns)' ? `a DNS lookup of ${entry.host}` : `${entry.host} (${entry.address})`;
    process.stdout.write(`not ok - loopback guard: process ${report.pid} (${report.argv.join(' ').slice(0, 200)}) tried to reach ${target}\n`);
    failed++;
  }
}
rmSync(loopbackReports, { recursive: true, force: true });
// ava exits non-zero for uncaught exceptions and timeouts that produce no "not ok" line.
if (code !== 0 && failed === 0) failed = 1;
process.stdout.write(`\n${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}\n`);
process.exit(failed > 0 ? 1 : 0);
