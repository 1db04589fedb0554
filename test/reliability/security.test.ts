/**
 * Security, through the CLI as users run it: marker secrets put in every place a secret can come
 * from, and every output (stdout, stderr, --json, -o files, the state directory) searched for
 * them; headers across redirects between two HTTPS origins; special files, planted symlinks,
 * templates that are no Pod, YAML that 1.1 readers read differently, terminal control
 * characters, and what an interrupted upload reports.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, mkdir, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import test from 'ava';
import { parse } from 'yaml';
import { flinkArgs, runCli, startCli, type CliResult } from '@flink-artifacts/test-helpers/cli';
import { startFaultProxy } from '@flink-artifacts/test-helpers/fault-proxy';
import { listFiles, randomContent, tempDir, uniqueBucket, writeFixture } from '@flink-artifacts/test-helpers/fixtures';
import { startHttpServer } from '@flink-artifacts/test-helpers/http-server';
import { useS3 } from '@flink-artifacts/test-helpers/s3';
import { createTestCertificate } from '@flink-artifacts/test-helpers/tls';

const exec = promisify(execFile);
const MiB = 1024 * 1024;

/** Every text a run printed, also as a JSON reader would decode its stdout. */
function printed(result: CliResult): string {
  let decoded = '';
  for (const line of result.stdout.split('\n')) {
    try {
      decoded += JSON.stringify(JSON.parse(line), (_, value: unknown) => value);
      decoded += ` ${Object.values(JSON.parse(line) as object).join(' ')}`;
    } catch {
      // not JSON
    }
  }
  return `${result.stdout}\n${result.stderr}\n${decoded}`;
}

const base = async (extra: Record<string, string> = {}) => flinkArgs({ 'kubernetes.cluster-id': 'sec', 'user.artifacts.base-dir': await tempDir(), 'flink-artifacts.retry.max-attempts': '1', ...extra });

test('custom headers go to the URI\'s origin only: a redirect to another origin gets none of them; one to the same origin keeps them', async (t) => {
  const tls = await createTestCertificate();
  const rootA = await tempDir();
  const rootB = await tempDir();
  await writeFixture(join(rootA, 'job.jar'), 'from A');
  await writeFixture(join(rootB, 'udf.jar'), 'from B');
  const b = await startHttpServer({ root: rootB, tls });
  const headers = { 'x-api-key': 'marker-apikey-4f1c9e', authorization: 'Bearer marker-token-77ab21', 'private-token': 'marker-private-90cd12' };
  const a = await startHttpServer({ root: rootA, tls, requiredHeaders: headers, redirects: { '/udf.jar': `${b.url}/udf.jar`, '/moved.jar': '/job.jar' } });
  t.teardown(async () => {
    await a.stop();
    await b.stop();
  });
  const result = await runCli([
    'fetch',
    `${a.url}/moved.jar`,
    ...(await base({
      'user.artifacts.artifact-list': `${a.url}/udf.jar`,
      'user.artifacts.http-headers': `X-Api-Key:${headers['x-api-key']},Authorization:${headers.authorization},PRIVATE-TOKEN:${headers['private-token']}`,
      'flink-artifacts.tls.ca-file': tls.certPath,
    })),
    '--json',
  ]);
  t.is(result.code, 0, result.stderr);
  // Origin A got every header on every request, the same-origin redirect included.
  t.true(a.requests.length >= 3);
  for (const request of a.requests) for (const [name, value] of Object.entries(headers)) t.is(request.headers[name], value, `${request.path}: ${name}`);
  // Origin B (another port: another origin) got none.
  t.true(b.requests.length >= 1);
  for (const request of b.requests) for (const name of Object.keys(headers)) t.is(request.headers[name], undefined, `${request.path}: ${name}`);
  for (const value of Object.values(headers)) t.false(printed(result).includes(value));
});

test('credentials in every URI spelling, endpoints, fragments, echoed headers and -D typos are masked, in text and in --json', async (t) => {
  const markers: string[] = [];
  const marker = (name: string): string => {
    const value = `mk${name}${markers.length}x9q`;
    markers.push(value);
    return value;
  };
  const runs: CliResult[] = [];
  const uris = [
    `https:/user:${marker('slash1')}@127.0.0.1:9/x.jar`,
    `https:\\\\user:${marker('bslash')}@127.0.0.1:9/x.jar`,
    `https:user:${marker('noslash')}@127.0.0.1:9/x.jar`,
    `https://user:pa/${marker('pwslash')}@127.0.0.1:9/x.jar`,
    `https://user:pa#${marker('pwhash')}@127.0.0.1:9/x.jar`,
    `s3:/AKIDMARKER:${marker('s3single')}@bucket/k.jar`,
    `https://127.0.0.1:9/x.jar#${marker('fragment')}`,
    `https://127.0.0.1:9/x.jar?X-Amz-Signature=${marker('query')}`,
  ];
  for (const uri of uris) {
    for (const mode of [[], ['--json']]) runs.push(await runCli(['fetch', uri, ...(await base()), ...mode]));
  }
  // An endpoint with user info and a query: printed in every S3 error.
  const endpoint = `http://epuser:${marker('endpoint')}@127.0.0.1:9/?token=${marker('eptoken')}`;
  runs.push(await runCli(['fetch', 's3://bucket/k.jar', ...(await base({ 's3.endpoint': endpoint, 's3.access-key': 'AKIAEXAMPLE0000', 's3.secret-key': 'secret-value-0000' })), '--json']));
  // A header value with '"' and '\' that the server echoes in its status text.
  const echoed = `q"uo\\te${marker('echo')}`;
  const server = createServer((socket) => {
    socket.once('data', (request) => {
      const value = /x-token: (.*)\r\n/i.exec(request.toString('latin1'))?.[1] ?? '';
      // And the token of a Bearer header alone, without its scheme word.
      const token = /authorization: bearer (.*)\r\n/i.exec(request.toString('latin1'))?.[1] ?? '';
      socket.end(`HTTP/1.1 403 Forbidden for ${value} (token ${token})\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as AddressInfo).port;
  for (const mode of [[], ['--json']]) {
    const headers = `X-Token:${echoed},Authorization:Bearer ${marker('bearer')}`;
    runs.push(await runCli(['fetch', `http://127.0.0.1:${port}/x.jar`, ...(await base({ 'user.artifacts.raw-http-enabled': 'true', 'user.artifacts.http-headers': headers })), ...mode]));
  }
  // -D typos: the value after ':' or a space is never echoed, whatever the command.
  for (const command of ['fetch', 'upload', 'render']) {
    runs.push(await runCli([command, `-Ds3.secret-key:${marker('colon')}`, 's3://b/j.jar', '--json']));
    runs.push(await runCli([command, `-Ds3.secret-key ${marker('space')}`, 's3://b/j.jar']));
    runs.push(await runCli([command, `-Ds3.secret-key= ${marker('lead')}`, '-Dkubernetes.cluster-id=sec', 's3://b/j.jar', '--json']));
    // The same stray space, split by the shell into two words: the second is the secret.
    runs.push(await runCli([command, '-Ds3.secret-key=', marker('twoword'), '-Dkubernetes.cluster-id=sec', 's3://b/j.jar', '--json']));
    runs.push(await runCli([command, '-Ds3.secret-key=', marker('twoword'), '-Dkubernetes.cluster-id=sec']));
  }
  for (const run of runs) {
    t.not(run.code, 0);
    const text = printed(run);
    for (const value of markers) t.false(text.includes(value), `${value} in: ${text.slice(0, 400)}`);
    t.false(text.includes(JSON.stringify(echoed).slice(1, -1)));
  }
  // The errors still say what is wrong.
  t.regex(runs[0]!.stderr, /https:\/\*\*\*@127\.0\.0\.1:9\/x\.jar/);
  t.regex(printed(runs.at(-15)!), /-D expects key=value, got \\?"s3\.secret-key:\*\*\*\\?"/);
});

test('masking never corrupts output: a short access key does not garble messages; manifests are data, the same on stdout and in -o; secret-bearing options are warned about', async (t) => {
  const dir = await tempDir();
  const args = [
    'render',
    '-Dkubernetes.cluster-id=sec',
    '--fetcher-image',
    'registry.example.com/flink-artifacts-fetcher:1',
    '-Ds3.access-key=flink',
    '-Ds3.secret-key=marker-secret-5e6f7a8b',
    '-Dfs.s3a.session.token=marker-session-1a2b3c4d',
    '-Dsecurity.ssl.rest.keystore-password=marker-ssl-9f8e7d6c',
    '-Dcontainerized.master.env.AWS_SECRET_ACCESS_KEY=marker-env-0a1b2c3d',
    '-Duser.artifacts.artifact-list=https://files.example.com/udf.jar?X-Amz-Signature=marker-sig-55aa66bb',
    's3://bucket/job.jar',
  ];
  const toStdout = await runCli(args);
  t.is(toStdout.code, 0, toStdout.stderr);
  t.false(toStdout.stderr.includes('***-artifacts'), toStdout.stderr);
  t.regex(toStdout.stderr, /^flink-artifacts: warning: /m);
  t.true(toStdout.stdout.includes('registry.example.com/flink-artifacts-fetcher:1'));
  const file = join(dir, 'pod.yaml');
  const toFile = await runCli([...args.slice(0, 1), '-o', file, ...args.slice(1)]);
  t.is(toFile.code, 0, toFile.stderr);
  t.is(await readFile(file, 'utf8'), toStdout.stdout, 'stdout and -o hold the same bytes');
  // The init container never gets a literal credential; the signed URL it must get is warned about.
  const pod = parse(toStdout.stdout) as { spec: { initContainers: unknown[] } };
  const init = JSON.stringify(pod.spec.initContainers);
  for (const value of ['marker-secret-5e6f7a8b', 'marker-session-1a2b3c4d', 'marker-ssl-9f8e7d6c', 'marker-env-0a1b2c3d']) t.false(init.includes(value), value);
  t.regex(toStdout.stderr, /fs\.s3a\.session\.token/);
  t.regex(toStdout.stderr, /security\.ssl\.rest\.keystore-password/);
  t.regex(toStdout.stderr, /containerized\.master\.env\.AWS_SECRET_ACCESS_KEY/);
  t.regex(toStdout.stderr, /udf\.jar\?X-Amz-Signature=\*\*\* carries a query string \(a signed URL\?\)/);
  for (const value of ['marker-secret-5e6f7a8b', 'marker-session-1a2b3c4d', 'marker-ssl-9f8e7d6c', 'marker-env-0a1b2c3d', 'marker-sig-55aa66bb']) t.false(toStdout.stderr.includes(value), value);
});

test('a FIFO where a file is expected is refused at once, on fetch and upload: the process ends', async (t) => {
  const dir = await tempDir();
  const fifo = join(dir, 'job.jar');
  await exec('mkfifo', [fifo]);
  const bounded = async (args: string[]): Promise<CliResult> => {
    const run = startCli(args);
    const timer = setTimeout(() => run.child.kill('SIGKILL'), 30_000);
    const result = await run.result;
    clearTimeout(timer);
    return result;
  };
  const fetched = await bounded(['fetch', `file://${fifo}`, ...(await base())]);
  t.is(fetched.signal, null, 'ended by itself');
  t.is(fetched.code, 1, fetched.stderr);
  t.regex(fetched.stderr, /job\.jar is not a regular file/);
  const uploaded = await bounded(['upload', fifo, `-Dkubernetes.artifacts.local-upload-target=file://${dir}/out/`]);
  t.is(uploaded.signal, null, 'ended by itself');
  t.is(uploaded.code, 1, uploaded.stderr);
  t.regex(uploaded.stderr, /job\.jar is not a regular file/);
  const pinned = await bounded(['fetch', `local://${fifo}#sha256=${'a'.repeat(64)}`, ...(await base())]);
  t.is(pinned.signal, null, 'ended by itself');
  t.not(pinned.code, 0);

  // Files we read whole ourselves: Flink's config file, the CA bundle, a pod template.
  const confDir = join(dir, 'conf');
  await mkdir(confDir);
  await exec('mkfifo', [join(confDir, 'config.yaml')]);
  const cases: [string[], RegExp][] = [
    [['fetch', '--conf-dir', confDir, 'https://h/j.jar', ...(await base())], /config\.yaml: not a regular file \(a FIFO\)/],
    [['fetch', 'https://h/j.jar', ...(await base({ 'flink-artifacts.tls.ca-file': fifo }))], /ca-file .*job\.jar: not a regular file \(a FIFO\)/],
    [['render', '-Dkubernetes.cluster-id=sec', '--fetcher-image', 'r/f:1', `-Dkubernetes.pod-template-file.jobmanager=${fifo}`, 's3://b/j.jar'], /job\.jar .*not a regular file \(a FIFO\)/],
    [['fetch', 'https://h/j.jar', ...(await base({ 'flink-artifacts.tls.ca-file': '/dev/zero' }))], /not a regular file \(a device\)/],
  ];
  for (const [args, message] of cases) {
    const result = await bounded(args);
    t.is(result.signal, null, `${args.join(' ')}: ended by itself`);
    t.is(result.code, 2, result.stderr);
    t.regex(result.stderr, message);
  }
});

test('a planted .flink-artifacts symlink is refused: nothing written or deleted where it points', async (t) => {
  const root = await tempDir();
  const source = join(root, 'src');
  await writeFixture(join(source, 'job.jar'), 'the job');
  const elsewhere = join(root, 'elsewhere');
  await writeFixture(join(elsewhere, 'precious.0123456789ab.part'), 'not ours');
  const baseDir = join(root, 'artifacts');
  const clusterDir = join(baseDir, 'default', 'sec');
  await mkdir(clusterDir, { recursive: true });
  await symlink(elsewhere, join(clusterDir, '.flink-artifacts'));
  const result = await runCli(['fetch', `file://${source}/job.jar`, '-Dkubernetes.cluster-id=sec', `-Duser.artifacts.base-dir=${baseDir}`]);
  t.is(result.code, 2, result.stderr);
  t.regex(result.stderr, /\.flink-artifacts is a symbolic link: refusing/);
  t.deepEqual(await readdir(elsewhere), ['precious.0123456789ab.part']);
  t.true((await lstat(join(clusterDir, '.flink-artifacts'))).isSymbolicLink());
  t.deepEqual(await listFiles(clusterDir), [], 'nothing fetched through it');
});

test('links planted inside the state directory are not followed: an owners link is refused, a part file that is a link is not continued', async (t) => {
  const root = await tempDir();
  const source = join(root, 'src');
  await writeFixture(join(source, 'job.jar'), 'the job');
  const victim = join(root, 'victim');
  await writeFixture(join(victim, 'important.txt'), 'keep me');
  await writeFixture(join(victim, '0123456789ab'), 'named like an owner id');
  const baseDir = join(root, 'artifacts');
  const args = ['fetch', `file://${source}/job.jar`, '-Dkubernetes.cluster-id=sec', `-Duser.artifacts.base-dir=${baseDir}`];
  t.is((await runCli(args)).code, 0);
  const stateDir = join(baseDir, 'default', 'sec', '.flink-artifacts');

  // owners/ replaced by a link: the sweep of gone fetchers' heartbeats would empty the victim.
  await rm(join(stateDir, 'owners'), { recursive: true, force: true });
  await symlink(victim, join(stateDir, 'owners'));
  const refused = await runCli(args);
  t.is(refused.code, 2, refused.stderr);
  t.regex(refused.stderr, /owners is a symbolic link: refusing/);
  t.deepEqual((await readdir(victim)).sort(), ['0123456789ab', 'important.txt']);

  // A "gone fetcher's part file" that is a link to the victim's file, with a matching record.
  await rm(join(stateDir, 'owners'));
  await rm(join(baseDir, 'default', 'sec', 'job.jar'));
  const big = randomContent(3 * MiB);
  await writeFixture(join(source, 'job.jar'), big);
  await symlink(join(victim, 'important.txt'), join(stateDir, 'job.jar.fedcba987654.part'));
  const uriKey = createHash('sha256').update(`file://${source}/job.jar`).digest('hex');
  const bootId = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
  await writeFile(join(stateDir, 'job.jar.fedcba987654.part.json'), JSON.stringify({ size: big.length, stored: {}, version: 'v', uri: uriKey, bootId }));
  const fetched = await runCli(args);
  t.is(fetched.code, 0, fetched.stderr);
  t.is(await readFile(join(victim, 'important.txt'), 'utf8'), 'keep me', 'nothing written through the link');
  t.true((await readFile(join(baseDir, 'default', 'sec', 'job.jar'))).equals(big));
  t.false((await lstat(join(baseDir, 'default', 'sec', 'job.jar'))).isSymbolicLink());
});

test('a pod template must be a Pod: a Flink config file, a passwd-like file and a ConfigMap are refused (exit 2) naming the file, copying nothing', async (t) => {
  const dir = await tempDir();
  const files = {
    'config.yaml': 's3.secret-key: marker-template-secret-31d4\nkubernetes.cluster-id: x\n',
    passwd: 'root:x:0:0:marker-passwd-77e1:/root:/bin/bash\n',
    // A shadow-like line ends in ":": YAML reads a mapping with the whole line as its key.
    shadow: 'root:$6$marker-shadow-5a9f$hash:20228:0:99999:7:::\n',
    'configmap.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: marker-cm-0c2b\n',
  };
  for (const [name, text] of Object.entries(files)) {
    await writeFile(join(dir, name), text);
    const result = await runCli(['render', '-Dkubernetes.cluster-id=sec', '--fetcher-image', 'r/f:1', `-Dkubernetes.pod-template-file.jobmanager=${join(dir, name)}`, 's3://b/j.jar']);
    t.is(result.code, 2, `${name}: ${result.stderr}`);
    t.true(result.stderr.includes(join(dir, name)), name);
    t.is(result.stdout, '', name);
    t.false(result.stderr.includes('marker-'), name);
  }
});

test('values YAML 1.1 or 1.2 readers would take for booleans, numbers or merge keys are quoted: both read the strings given', async (t) => {
  // And the forms of YAML 1.2 (the yaml package, Go's yaml.v3): 0o17, .nan, 1e3.
  const tricky = { ENABLE_X: 'yes', OFF_FLAG: 'off', Y: 'y', NO_FLAG: 'NO', BIG: '1_000', OCTAL: '010', SEXA: '1:20', DATE: '2001-12-14', TILDE: '~', OCTAL12: '0o17', NAN: '.nan', EXP: '1e3' };
  const result = await runCli([
    'render',
    '--format',
    'flinkdeployment',
    '-Dkubernetes.cluster-id=sec',
    '--fetcher-image',
    'r/f:1',
    ...Object.entries(tricky).map(([name, value]) => `-Dcontainerized.master.env.${name}=${value}`),
    '-D<<=merge-me',
    '-Dy=on',
    '-DN=n',
    '-D0o5=key',
    's3://b/j.jar',
  ]);
  t.is(result.code, 0, result.stderr);
  for (const version of ['1.1', '1.2'] as const) {
    const resource = parse(result.stdout, { version, merge: version === '1.1' }) as { spec: { flinkConfiguration: Record<string, unknown> } };
    const config = resource.spec.flinkConfiguration;
    for (const [name, value] of Object.entries(tricky)) t.is(config[`containerized.master.env.${name}`], value, `${version}: ${name}`);
    t.is(config['<<'], 'merge-me', version);
    t.is(config.y, 'on', version);
    t.is(config.N, 'n', version);
    t.is(config['0o5'], 'key', version);
  }
  // kubectl's reader is 1.1: `kubectl create --dry-run=client` is not installed here, so the
  // check is the 1.1 parse above, merge keys honoured.
});

test('terminal control characters from a server are shown escaped, never written raw', async (t) => {
  const server = createServer((socket) => {
    socket.once('data', () => socket.end('HTTP/1.1 503 Busy \u001b[2K\u001b[1Afetched  all fine \u202e\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as AddressInfo).port;
  for (const mode of [[], ['--json']]) {
    const result = await runCli(['fetch', `http://127.0.0.1:${port}/x.jar`, ...(await base({ 'user.artifacts.raw-http-enabled': 'true' })), ...mode]);
    t.is(result.code, 1, result.stderr);
    // eslint-disable-next-line no-control-regex
    t.false(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e]/.test(result.stdout + result.stderr), JSON.stringify(result.stderr));
    t.regex(result.stderr, /Busy \\u001b\[2K\\u001b\[1Afetched {2}all fine/);
    if (mode.length > 0) t.notThrows(() => JSON.parse(result.stdout.trim().split('\n').at(-1)!));
  }
});

test('SIGTERM during the last step of a multipart upload: the upload finishes and is reported as kept, not as aborted', async (t) => {
  const s3 = await useS3();
  const bucket = uniqueBucket('final');
  await s3.createBucket(bucket);
  const proxy = await startFaultProxy(s3.endpoint);
  t.teardown(() => proxy.stop());
  // Hold the completion (POST ...?uploadId=) so that the signal surely comes while it is asked.
  const completion = /\/final\/big\.jar\?uploadId=/;
  proxy.inject({ method: 'POST', path: completion, fault: { kind: 'hold', ms: 1500 } });
  const src = await tempDir();
  await writeFixture(join(src, 'big.jar'), randomContent(70 * MiB));
  const cli = startCli(['upload', `${src}/big.jar`, ...flinkArgs({ ...s3.flinkOptions, 's3.endpoint': proxy.url, 'kubernetes.artifacts.local-upload-target': `s3://${bucket}/final/` })]);
  const deadline = Date.now() + 60_000;
  while (!proxy.requests.some((r) => r.method === 'POST' && completion.test(r.path)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  cli.child.kill('SIGTERM');
  const result = await cli.result;
  t.is(result.code, 143, result.stderr);
  t.regex(result.stderr, /upload aborted; finished before the signal, and kept: .*big\.jar \(uploaded\)/);
  const head = await s3.client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'final/big.jar' }));
  t.is(head.ContentLength, 70 * MiB, 'the object the report says was kept exists');
});

test('names up to 255 bytes fetch and upload: state files do not outgrow the filesystem\'s limit', async (t) => {
  const root = await tempDir();
  const name = `${'n'.repeat(251)}.jar`;
  t.is(Buffer.byteLength(name), 255);
  await writeFixture(join(root, 'src', name), 'long');
  const baseDir = join(root, 'out');
  const fetched = await runCli(['fetch', `file://${root}/src/${name}`, '-Dkubernetes.cluster-id=sec', `-Duser.artifacts.base-dir=${baseDir}`]);
  t.is(fetched.code, 0, fetched.stderr);
  t.is(await readFile(join(baseDir, 'default', 'sec', name), 'utf8'), 'long');
  const again = await runCli(['fetch', `file://${root}/src/${name}`, '-Dkubernetes.cluster-id=sec', `-Duser.artifacts.base-dir=${baseDir}`]);
  t.regex(again.stdout, /1 reused/, 'its record was written and read back');
  const uploaded = await runCli(['upload', `${root}/src/${name}`, `-Dkubernetes.artifacts.local-upload-target=file://${root}/up/`]);
  t.is(uploaded.code, 0, uploaded.stderr);
  t.is(await readFile(join(root, 'up', name), 'utf8'), 'long');
});
