/**
 * Bad input through the CLI, as a user would type it: each case gets its own error, naming
 * the input, with the exit code of its kind (2 usage/config, 1 runtime), and writes nothing.
 */
import { join } from 'node:path';
import test from 'ava';
import { runCli } from '@flink-artifacts/test-helpers/cli';
import { listFiles, tempDir } from '@flink-artifacts/test-helpers/fixtures';

interface Case {
  name: string;
  args: string[];
  code: number;
  pattern: RegExp;
}

const common = (base: string): string[] => ['-Dkubernetes.cluster-id=app', `-Duser.artifacts.base-dir=${base}`];

test('the bad-input matrix: malformed, unknown, empty, duplicate, traversal, huge, non-UTF-8', async (t) => {
  const base = await tempDir();
  const c = common(base);
  const cases: Case[] = [
    { name: 'no scheme, relative', args: ['fetch', 'jobs/job.jar', ...c], code: 2, pattern: /not an absolute URI: jobs\/job\.jar/ },
    { name: 'malformed host', args: ['fetch', 'https://[::1/job.jar', ...c], code: 2, pattern: /malformed URI/ },
    { name: 'bad port', args: ['fetch', 'https://h:99999/job.jar', ...c], code: 2, pattern: /malformed URI/ },
    { name: 'unknown scheme', args: ['fetch', 'hdfs://nn/job.jar', ...c], code: 2, pattern: /unsupported scheme "hdfs"/ },
    { name: 'unknown scheme in the list', args: ['fetch', ...c, '-Duser.artifacts.artifact-list=s3://b/a.jar;ftp://h/b.jar'], code: 2, pattern: /unsupported scheme "ftp" in ftp:\/\/h\/b\.jar/ },
    { name: 'empty list entry', args: ['fetch', ...c, '-Duser.artifacts.artifact-list=s3://b/a.jar;;s3://b/c.jar'], code: 2, pattern: /entry 2 of user\.artifacts\.artifact-list is empty/ },
    { name: 'trailing separator', args: ['fetch', ...c, '-Duser.artifacts.artifact-list=s3://b/a.jar;'], code: 2, pattern: /entry 2 of user\.artifacts\.artifact-list is empty/ },
    { name: 'duplicate names', args: ['fetch', 's3://b/v1/udf.jar', ...c, '-Duser.artifacts.artifact-list=https://h/v2/udf.jar'], code: 2, pattern: /would both be saved as udf\.jar/ },
    { name: 'dot-dot segment', args: ['fetch', 's3://b/../../etc/passwd', ...c], code: 2, pattern: /"\.\." path segment/ },
    { name: 'encoded dot-dot', args: ['fetch', 'https://h/a/%2e%2e/%2e%2e/x.jar', ...c], code: 2, pattern: /"\.\." path segment/ },
    { name: 'encoded slash', args: ['fetch', 'https://h/a/..%2f..%2fx.jar', ...c], code: 2, pattern: /encoded path separator/ },
    { name: 'encoded backslash', args: ['fetch', 'gs://b/a%5c..%5cx.jar', ...c], code: 2, pattern: /encoded path separator/ },
    { name: 'backslashes', args: ['fetch', 's3://b/a\\..\\x.jar', ...c], code: 2, pattern: /"\.\." path segment|path separator/ },
    { name: 'a directory, not a file', args: ['fetch', 'https://h/dir/', ...c], code: 2, pattern: /no file name/ },
    { name: 'NUL byte', args: ['fetch', 'https://h/x%00.jar', ...c], code: 2, pattern: /NUL|control/ },
    { name: 'non-UTF-8 name', args: ['fetch', 'https://h/%ff%fe.jar', ...c], code: 2, pattern: /bad percent-encoding/ },
    { name: 'over-long name', args: ['fetch', `https://h/${'a'.repeat(300)}.jar`, ...c], code: 2, pattern: /longer than 255 bytes/ },
    { name: 'credentials in a URI', args: ['fetch', 'https://me:hunter2@h/x.jar', ...c], code: 2, pattern: /credentials in URIs are not supported/ },
    { name: 'a fragment that is not a digest', args: ['fetch', 's3://b/x.jar#md5=abc', ...c], code: 2, pattern: /unsupported fragment/ },
    { name: 'huge header value', args: ['fetch', 'https://h/x.jar', ...c, `-Duser.artifacts.http-headers=X-Big:${'v'.repeat(20_000)}`], code: 2, pattern: /servers refuse more than 16384/ },
    { name: 'header without a value separator', args: ['fetch', 'https://h/x.jar', ...c, '-Duser.artifacts.http-headers=Authorization'], code: 2, pattern: /user\.artifacts\.http-headers/ },
    { name: 'bad retry setting', args: ['fetch', 'https://h/x.jar', ...c, '-Dflink-artifacts.retry.max-attempts=lots'], code: 2, pattern: /flink-artifacts\.retry\.max-attempts/ },
    { name: 'bad duration', args: ['fetch', 'https://h/x.jar', ...c, '-Dflink-artifacts.timeout.idle=forever'], code: 2, pattern: /flink-artifacts\.timeout\.idle/ },
    { name: 'unreadable CA file', args: ['fetch', 'https://h/x.jar', ...c, '-Dflink-artifacts.tls.ca-file=/no/such/ca.pem'], code: 2, pattern: /flink-artifacts\.tls\.ca-file \/no\/such\/ca\.pem/ },
    { name: 'missing local file in the image', args: ['fetch', 'local:///no/such/job.jar', ...c], code: 1, pattern: /local:\/\/\/no\/such\/job\.jar: no such file in the image/ },
  ];
  for (const item of cases) {
    const result = await runCli(item.args);
    t.is(result.code, item.code, `${item.name}: ${result.stderr}`);
    t.regex(result.stderr, item.pattern, item.name);
    t.false(result.stderr.includes('hunter2'), item.name);
    t.false(/\n\s+at /.test(result.stderr), `${item.name}: no stack trace for the user`);
  }
  t.deepEqual(await listFiles(join(base)), []);
});
