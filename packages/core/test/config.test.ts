import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import {
  ConfigError,
  isSensitiveKey,
  parseDynamicProperties,
  parseFlinkList,
  parseHttpHeaders,
  parseLegacyFlinkConf,
  parseStandardYaml,
  readArtifactList,
  readAzureSettings,
  readClusterLocation,
  readHttpSettings,
  readJobUri,
  readOssSettings,
  readS3Settings,
  resolveFlinkConfig,
  secretValues,
  splitFlinkList,
} from '../src/index.ts';

async function confDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'fa-conf-'));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

test('-D entries split at the first "="; empty values and "=" in values are kept', (t) => {
  const config = parseDynamicProperties(['a=1', 'b=', 'c=x=y', ' d = v ']);
  t.deepEqual([...config], [['a', '1'], ['b', ''], ['c', 'x=y'], ['d', ' v ']]);
  t.throws(() => parseDynamicProperties(['novalue']), { instanceOf: ConfigError });
  t.throws(() => parseDynamicProperties(['=x']), { instanceOf: ConfigError });
});

test('Flink lists split on ";", accept the docs\' "\\;" and quoted entries', (t) => {
  t.deepEqual(parseFlinkList('local:///a.jar;s3://b/c.jar', 'k'), ['local:///a.jar', 's3://b/c.jar']);
  t.deepEqual(parseFlinkList('local:///a.jar\\;s3://b/c.jar', 'k'), ['local:///a.jar', 's3://b/c.jar']);
  t.deepEqual(parseFlinkList(" 'https://h/x;y.jar' ; s3://b/z.jar ", 'k'), ['https://h/x;y.jar', 's3://b/z.jar']);
  t.deepEqual(splitFlinkList("'it''s'", ';', 'k'), ["it's"]);
  t.deepEqual(parseFlinkList('', 'k'), []);
  t.deepEqual(parseFlinkList(undefined, 'k'), []);
});

test('empty list entries and broken quotes name the key', (t) => {
  for (const bad of ['a;;b', 'a;', ';a', "'open;b", "'a'x;b"]) {
    const error = t.throws(() => parseFlinkList(bad, 'user.artifacts.artifact-list'), { instanceOf: ConfigError }, bad);
    t.regex(error.message, /user\.artifacts\.artifact-list/);
  }
});

test('http headers parse as Name:Value pairs; errors name the key but never a value', (t) => {
  t.deepEqual(parseHttpHeaders('Authorization:Bearer a:b, X-Trace : 1', 'h'), { Authorization: 'Bearer a:b', 'X-Trace': '1' });
  for (const bad of ['Authorization Bearer s3cr3t', 'Bad Name:s3cr3t', ':s3cr3t']) {
    const error = t.throws(() => parseHttpHeaders(bad, 'user.artifacts.http-headers'), { instanceOf: ConfigError });
    t.regex(error.message, /user\.artifacts\.http-headers/);
    t.false(error.message.includes('s3cr3t'));
  }
});

test('config.yaml: nested and flat keys, lists, booleans and a header map', (t) => {
  const config = parseStandardYaml(
    [
      'kubernetes:',
      '  cluster-id: my-app',
      '  namespace: team-a',
      'user.artifacts.base-dir: /data/artifacts',
      'user:',
      '  artifacts:',
      '    raw-http-enabled: true',
      '    artifact-list: [ "s3://b/a.jar", "https://h/x;y.jar" ]',
      '    http-headers: { Authorization: "Bearer t", X-A: 1 }',
      'pipeline.jars: s3://b/job.jar',
      'empty:',
    ].join('\n'),
    'config.yaml',
  );
  t.is(config.get('kubernetes.cluster-id'), 'my-app');
  t.is(config.get('kubernetes.namespace'), 'team-a');
  t.is(config.get('user.artifacts.base-dir'), '/data/artifacts');
  t.is(config.get('user.artifacts.raw-http-enabled'), 'true');
  t.deepEqual(readArtifactList(config), ['s3://b/a.jar', 'https://h/x;y.jar']);
  t.deepEqual(readHttpSettings(config).headers, { Authorization: 'Bearer t', 'X-A': '1' });
  t.is(config.has('empty'), false);
});

test('config.yaml that is not YAML or not a mapping names the file', (t) => {
  const error = t.throws(() => parseStandardYaml('a: [unclosed', '/conf/config.yaml'), { instanceOf: ConfigError });
  t.regex(error.message, /\/conf\/config\.yaml/);
  t.throws(() => parseStandardYaml('- a\n- b', '/conf/config.yaml'), { instanceOf: ConfigError });
});

test('legacy flink-conf.yaml is read line by line as Flink 1.x does', (t) => {
  const config = parseLegacyFlinkConf(
    ['# comment', 'kubernetes.cluster-id: app # trailing', 'a.b: x: y', 'novalue:', 'broken line', 'q: "kept"'].join('\n'),
  );
  t.deepEqual([...config], [['kubernetes.cluster-id', 'app'], ['a.b', 'x: y'], ['q', '"kept"']]);
});

test('-D wins over the file; config.yaml wins over flink-conf.yaml; FLINK_CONF_DIR is used', async (t) => {
  const dir = await confDir({
    'config.yaml': 'kubernetes.cluster-id: from-file\nkubernetes.namespace: ns-file\n',
    'flink-conf.yaml': 'kubernetes.cluster-id: legacy\n',
  });
  const resolved = await resolveFlinkConfig({ confDir: dir, dynamicProperties: ['kubernetes.cluster-id=from-d'] });
  t.is(resolved.config.get('kubernetes.cluster-id'), 'from-d');
  t.is(resolved.config.get('kubernetes.namespace'), 'ns-file');
  t.is(resolved.file, join(dir, 'config.yaml'));
  const viaEnv = await resolveFlinkConfig({ env: { FLINK_CONF_DIR: dir } });
  t.is(viaEnv.config.get('kubernetes.cluster-id'), 'from-file');
  const legacyOnly = await confDir({ 'flink-conf.yaml': 'kubernetes.cluster-id: legacy\n' });
  t.is((await resolveFlinkConfig({ confDir: legacyOnly })).config.get('kubernetes.cluster-id'), 'legacy');
});

test('a conf dir that is missing or holds no config file is an error naming it', async (t) => {
  const missing = join(tmpdir(), 'fa-no-such-dir');
  await t.throwsAsync(resolveFlinkConfig({ confDir: missing }), { instanceOf: ConfigError, message: /fa-no-such-dir/ });
  const empty = await confDir({});
  await mkdir(join(empty, 'sub'));
  await t.throwsAsync(resolveFlinkConfig({ confDir: empty }), { instanceOf: ConfigError, message: /no config\.yaml or flink-conf\.yaml/ });
});

test('cluster location uses Flink defaults and validates the cluster id', (t) => {
  const location = readClusterLocation(new Map([['kubernetes.cluster-id', 'my-app']]));
  t.is(location.clusterDir, '/opt/flink/artifacts/default/my-app');
  const relative = readClusterLocation(new Map([['kubernetes.cluster-id', 'a'], ['user.artifacts.base-dir', 'out']]), '/work');
  t.is(relative.clusterDir, '/work/out/default/a');
  t.throws(() => readClusterLocation(new Map()), { instanceOf: ConfigError, message: /kubernetes\.cluster-id is required/ });
  for (const bad of ['My-App', '../x', 'a/b', '-a', 'a'.repeat(46)]) {
    t.throws(() => readClusterLocation(new Map([['kubernetes.cluster-id', bad]])), { instanceOf: ConfigError }, bad);
  }
  t.throws(() => readClusterLocation(new Map([['kubernetes.cluster-id', 'a'], ['kubernetes.namespace', '../etc']])), {
    instanceOf: ConfigError,
    message: /kubernetes\.namespace/,
  });
});

test('job URI comes from the argument, else the single pipeline.jars entry', (t) => {
  t.is(readJobUri(new Map([['pipeline.jars', 's3://b/j.jar']])), 's3://b/j.jar');
  t.is(readJobUri(new Map([['pipeline.jars', 's3://b/j.jar']]), 'https://h/k.jar'), 'https://h/k.jar');
  t.is(readJobUri(new Map()), undefined);
  t.throws(() => readJobUri(new Map([['pipeline.jars', 's3://b/a.jar;s3://b/b.jar']])), { instanceOf: ConfigError, message: /pipeline\.jars/ });
});

test('raw http flag must be a boolean', (t) => {
  t.false(readHttpSettings(new Map()).rawHttpEnabled);
  t.true(readHttpSettings(new Map([['user.artifacts.raw-http-enabled', 'TRUE']])).rawHttpEnabled);
  t.throws(() => readHttpSettings(new Map([['user.artifacts.raw-http-enabled', 'yes']])), { instanceOf: ConfigError, message: /raw-http-enabled/ });
});

test('S3 settings accept Flink\'s key variants and need both keys or neither', (t) => {
  const s3 = readS3Settings(
    new Map([
      ['fs.s3a.endpoint', 'http://127.0.0.1:7480'],
      ['s3.path.style.access', 'true'],
      ['s3.access-key', 'AK'],
      ['s3.secret-key', 'SK'],
    ]),
  );
  t.deepEqual(s3, { endpoint: 'http://127.0.0.1:7480', pathStyleAccess: true, accessKey: 'AK', secretKey: 'SK', region: undefined });
  t.throws(() => readS3Settings(new Map([['s3.access-key', 'AK']])), { instanceOf: ConfigError });
});

test('OSS settings: Flink\'s fs.oss.* keys; an OSS endpoint becomes its S3-compatible twin and gives the region', (t) => {
  const keys = { 'fs.oss.accessKeyId': 'AK', 'fs.oss.accessKeySecret': 'SK' };
  const read = (extra: Record<string, string>, env: Record<string, string> = {}) => readOssSettings(new Map(Object.entries({ ...keys, ...extra })), env);
  t.deepEqual(read({ 'fs.oss.endpoint': 'oss-cn-hangzhou.aliyuncs.com' }), { endpoint: 's3.oss-cn-hangzhou.aliyuncs.com', pathStyleAccess: undefined, accessKey: 'AK', secretKey: 'SK', region: 'cn-hangzhou' });
  t.is(read({ 'fs.oss.endpoint': 'https://oss-ap-southeast-1-internal.aliyuncs.com' }).endpoint, 'https://s3.oss-ap-southeast-1-internal.aliyuncs.com');
  t.is(read({ 'fs.oss.endpoint': 'https://oss-ap-southeast-1-internal.aliyuncs.com' }).region, 'ap-southeast-1');
  t.is(read({ 'fs.oss.endpoint': 'https://s3.oss-cn-beijing.aliyuncs.com' }).endpoint, 'https://s3.oss-cn-beijing.aliyuncs.com');
  // Anything else (a custom domain, an S3-compatible stand-in) is used as given, with fs.oss.region.
  t.deepEqual(read({ 'fs.oss.endpoint': 'https://files.example.com', 'fs.oss.region': 'cn-shanghai' }).region, 'cn-shanghai');
  t.is(read({ 'fs.oss.endpoint': 'http://127.0.0.1:7480' }).endpoint, 'http://127.0.0.1:7480');
  // Alibaba Cloud's environment variables when the keys are unset; the keys win when set.
  const env = { OSS_ACCESS_KEY_ID: 'EK', OSS_ACCESS_KEY_SECRET: 'ES' };
  t.is(readOssSettings(new Map([['fs.oss.endpoint', 'oss-cn-hangzhou.aliyuncs.com']]), env).accessKey, 'EK');
  t.is(read({}, env).accessKey, 'AK');
  t.throws(() => readOssSettings(new Map([['fs.oss.accessKeyId', 'AK']]), {}), { instanceOf: ConfigError, message: /fs\.oss\.accessKeySecret/ });
});

test('Azure settings: account keys of both services, container and account SAS tokens, the environment, the endpoint', (t) => {
  const settings = readAzureSettings(
    new Map([
      ['fs.azure.account.key.acct1.dfs.core.windows.net', 'K1'],
      ['fs.azure.account.key.acct2.blob.core.chinacloudapi.cn', 'K2'],
      ['fs.azure.sas.jars.acct3.blob.core.windows.net', '?sv=1&sig=S3'],
      ['fs.azure.sas.fixed.token.acct4.dfs.core.windows.net', 'sv=1&sig=S4'],
      ['flink-artifacts.azure.endpoint', 'http://127.0.0.1:10000/devstoreaccount1/'],
      ['fs.azure.account.auth.type', 'SharedKey'],
    ]),
    { AZURE_STORAGE_KEY: 'EK', AZURE_STORAGE_SAS_TOKEN: '?sig=ES', AZURE_STORAGE_CONNECTION_STRING: '' },
  );
  t.deepEqual(settings, {
    accountKeys: { 'acct1.core.windows.net': 'K1', 'acct2.core.chinacloudapi.cn': 'K2' },
    envAccountKey: 'EK',
    containerSas: { 'jars@acct3.core.windows.net': 'sv=1&sig=S3' },
    accountSas: { 'acct4.core.windows.net': 'sv=1&sig=S4' },
    envSas: 'sig=ES',
    connectionString: undefined,
    endpoint: 'http://127.0.0.1:10000/devstoreaccount1',
  });
  t.throws(() => readAzureSettings(new Map([['flink-artifacts.azure.endpoint', '127.0.0.1:10000']]), {}), { instanceOf: ConfigError, message: /flink-artifacts\.azure\.endpoint/ });
});

test('Azure account keys and SAS tokens count as secrets', (t) => {
  for (const key of ['fs.azure.account.key.acct.dfs.core.windows.net', 'fs.azure.sas.jars.acct.blob.core.windows.net', 'fs.azure.sas.fixed.token.acct.dfs.core.windows.net', 'fs.oss.accessKeySecret', 'fs.gs.auth.service.account.private.key']) {
    t.true(isSensitiveKey(key), key);
  }
  t.false(isSensitiveKey('fs.oss.endpoint'));
  t.false(isSensitiveKey('flink-artifacts.azure.endpoint'));
});

test('endpoints: http(s) URLs and bare hosts pass; a misspelled scheme, user info or a query is refused with the value masked', (t) => {
  const s3 = (endpoint: string) => readS3Settings(new Map([['s3.endpoint', endpoint]])).endpoint;
  for (const good of ['https://s3.example.com', 'http://127.0.0.1:7480/', 's3.eu-west-1.amazonaws.com', 'localhost:9000', '127.0.0.1:9000', '[::1]:9000']) t.is(s3(good), good);
  for (const bad of ['http:/user:MARKER-ep-1@127.0.0.1:18443', 'https:\\\\user:MARKER-ep-2@h', 'ftp://h', 'http://', 'http:host']) {
    const error = t.throws(() => s3(bad), { instanceOf: ConfigError }, bad);
    t.regex(error.message, /^s3\.endpoint must be an http\(s\) URL or a host name/, bad);
    t.false(error.message.includes('MARKER'), bad);
  }
  t.throws(() => s3('http://u:MARKER-ep-3@127.0.0.1:9'), { message: /s3\.endpoint carries user info \("http:\/\/\*\*\*@127\.0\.0\.1:9"\)/ });
  t.throws(() => s3('https://h/?X-Amz-Signature=MARKER'), { message: /must not carry a query/ });
  t.throws(() => readOssSettings(new Map([['fs.oss.endpoint', 'http:/oss-cn-hangzhou.aliyuncs.com']])), { message: /fs\.oss\.endpoint must be an http\(s\) URL/ });
  t.throws(() => readAzureSettings(new Map([['flink-artifacts.azure.endpoint', '127.0.0.1:10000']]), {}), { message: /flink-artifacts\.azure\.endpoint must be an http\(s\) URL, got/ });
  t.is(readAzureSettings(new Map([['flink-artifacts.azure.endpoint', 'http://127.0.0.1:10000/devstoreaccount1/']]), {}).endpoint, 'http://127.0.0.1:10000/devstoreaccount1');
});

test('a header value is masked whole and by its words: a server may echo the token of "Bearer <token>" alone', (t) => {
  const secrets = secretValues(new Map([['user.artifacts.http-headers', 'Authorization:Bearer MARKER-token-5d1e,X-Short:ab cd']]));
  t.true(secrets.includes('Bearer MARKER-token-5d1e'));
  t.true(secrets.includes('MARKER-token-5d1e'));
  t.false(secrets.includes('Bearer'), 'words shorter than the masking minimum are not masked on their own');
});

test('Azure keys of one cloud are not another cloud\'s; hadoop-azure\'s account-agnostic keys are read too', (t) => {
  const settings = readAzureSettings(new Map([['fs.azure.account.key.acct.dfs.core.windows.net', 'K'], ['fs.azure.account.key', 'ANY'], ['fs.azure.sas.fixed.token', '?sig=ANYSAS']]), {});
  t.deepEqual(settings.accountKeys, { 'acct.core.windows.net': 'K', '*': 'ANY' });
  t.false('acct.core.chinacloudapi.cn' in settings.accountKeys);
  t.deepEqual(settings.accountSas, { '*': 'sig=ANYSAS' });
});
