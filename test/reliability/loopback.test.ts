/**
 * The loopback guard itself: every process of a test run (scripts/run-tests.mjs sets
 * NODE_OPTIONS) stops and records any packet that would leave 127.0.0.0/8, and the runner fails
 * the run on any record no test declared expected.
 */
import { execFile } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import test from 'ava';
import { tempDir } from '@flink-artifacts/test-helpers/fixtures';

const exec = promisify(execFile);
const PRELOAD = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), '..', 'helpers', 'src', 'loopback-preload.mjs')).href;

test('this test process runs under the guard, as every process of the run does', (t) => {
  t.regex(process.env.NODE_OPTIONS ?? '', /--import=\S*loopback-preload\.mjs/, 'run the tests with scripts/run-tests.mjs (pnpm test), which loads the guard');
  t.truthy(process.env.FA_LOOPBACK_REPORT_DIR);
});

test('a process under the guard that connects outside loopback, or asks DNS, is stopped before any packet and reported at exit', async (t) => {
  const reports = await tempDir();
  const script = `
    const net = require('node:net');
    const dns = require('node:dns');
    const socket = net.connect(80, '192.0.2.10');
    socket.on('error', (error) => {
      console.log('connect:', error.message);
      dns.lookup('example.com', (lookupError) => {
        console.log('lookup:', lookupError && lookupError.code);
        const local = net.connect(9, '127.0.0.1');
        local.on('error', (localError) => console.log('loopback:', localError.code));
      });
    });`;
  // The guard is loaded explicitly, not only through NODE_OPTIONS: this process must never reach
  // 192.0.2.10 (a documentation address), even when this file runs outside the test runner.
  const { stdout } = await exec(process.execPath, ['--import', PRELOAD, '-e', script], { env: { ...process.env, FA_LOOPBACK_REPORT_DIR: reports } });
  t.regex(stdout, /connect: loopback guard: connect to 192\.0\.2\.10 \(192\.0\.2\.10\) stopped/);
  t.regex(stdout, /lookup: ENOTFOUND/);
  t.regex(stdout, /loopback: ECONNREFUSED/, 'loopback itself is untouched (nothing listens on port 9)');
  const files = await readdir(reports);
  t.is(files.length, 1);
  const report = JSON.parse(await readFile(join(reports, files[0]!), 'utf8')) as { blocked: { host: string; address: string }[] };
  t.deepEqual(report.blocked, [
    { host: '192.0.2.10', address: '192.0.2.10' },
    { host: 'example.com', address: '(dns)' },
  ]);
});
