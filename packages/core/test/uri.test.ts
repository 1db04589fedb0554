import test from 'ava';
import { InvalidUriError, UnsafePathError, UnsupportedSchemeError, artifactIdentity, parseArtifactUri, readArtifactSet, redactUri } from '../src/index.ts';

test('s3 and its Flink aliases parse to bucket and key, file name is the last key segment', (t) => {
  for (const scheme of ['s3', 's3a', 's3p', 'S3']) {
    const uri = parseArtifactUri(`${scheme}://my-bucket/jobs/v1/my-job.jar`);
    t.deepEqual(uri.location, { scheme: 's3', bucket: 'my-bucket', key: 'jobs/v1/my-job.jar' });
    t.is(uri.fileName, 'my-job.jar');
  }
});

test('gs URIs parse; percent-encoded keys are decoded', (t) => {
  const uri = parseArtifactUri('gs://bkt/dir/my%20udf.jar');
  t.deepEqual(uri.location, { scheme: 'gs', bucket: 'bkt', key: 'dir/my udf.jar' });
  t.is(uri.fileName, 'my udf.jar');
});

test('http(s) URIs keep their query for the request but take the name from the path', (t) => {
  const uri = parseArtifactUri('https://repo.example.com/a/job.jar?X-Amz-Signature=abc&version=2');
  t.is(uri.location.scheme, 'https');
  t.is(uri.fileName, 'job.jar');
  t.is(uri.display, 'https://repo.example.com/a/job.jar?X-Amz-Signature=***&version=***');
});

test('file:// and local:// give absolute paths; a plain absolute path is local', (t) => {
  t.deepEqual(parseArtifactUri('file:///tmp/a%20b.jar').location, { scheme: 'file', path: '/tmp/a b.jar' });
  t.deepEqual(parseArtifactUri('local:///opt/flink/usrlib/job.jar').location, { scheme: 'local', path: '/opt/flink/usrlib/job.jar' });
  const plain = parseArtifactUri('/opt/flink/usrlib/my job#1.jar');
  t.deepEqual(plain.location, { scheme: 'local', path: '/opt/flink/usrlib/my job#1.jar' });
  t.is(plain.fileName, 'my job#1.jar');
  t.is(plain.raw, '/opt/flink/usrlib/my job#1.jar');
});

test('#sha256 fragment is parsed and removed from the location', (t) => {
  const hex = 'A'.repeat(64);
  const uri = parseArtifactUri(`https://h/x.jar#sha256=${hex}`);
  t.is(uri.sha256, 'a'.repeat(64));
  t.deepEqual(uri.location, { scheme: 'https', url: 'https://h/x.jar' });
  t.is(parseArtifactUri(`s3://b/k.jar#sha256=${hex}`).sha256, 'a'.repeat(64));
});

test('other fragments and short digests are refused', (t) => {
  t.throws(() => parseArtifactUri('https://h/x.jar#md5=abc'), { instanceOf: InvalidUriError });
  t.throws(() => parseArtifactUri('https://h/x.jar#sha256=abc'), { instanceOf: InvalidUriError });
  // A plain path: the same rule, not a file named "x.jar#sha256=abc".
  t.throws(() => parseArtifactUri('/opt/x.jar#sha256=abc'), { instanceOf: InvalidUriError, message: /unsupported fragment/ });
  t.throws(() => parseArtifactUri(`/opt/x.jar#SHA256=${'a'.repeat(64)}`), { instanceOf: InvalidUriError });
  t.deepEqual(parseArtifactUri(`/opt/x.jar#sha256=${'a'.repeat(64)}`).location, { scheme: 'local', path: '/opt/x.jar' });
});

test('one artifact however it is spelled: a plain path and local://, s3a:// and s3://, are transferred once', (t) => {
  const set = readArtifactSet(new Map([['user.artifacts.artifact-list', '/x/job.jar;s3a://b/udf.jar;s3://b/udf.jar;local:///x/other.jar']]), 'local:///x/job.jar');
  t.deepEqual(set.artifacts.map((a) => a.uri.raw), ['s3a://b/udf.jar', 'local:///x/other.jar']);
  t.is(set.listed.length, 4, 'the list as given, for rewriting it');
  t.not(artifactIdentity(parseArtifactUri('/x/job.jar')), artifactIdentity(parseArtifactUri(`/x/job.jar#sha256=${'a'.repeat(64)}`)), 'a pin makes another request');
});

test('unknown schemes name the scheme and the supported ones', (t) => {
  const error = t.throws(() => parseArtifactUri('ftp://h/x.jar'), { instanceOf: UnsupportedSchemeError });
  t.regex(error.message, /ftp/);
  t.regex(error.hint ?? '', /s3, s3a/);
  t.is(error.code, 'ERR_UNSUPPORTED_SCHEME');
});

test('malformed URIs are refused with the URI in the message', (t) => {
  for (const bad of ['', '   ', 'relative/x.jar', 's3://', 's3:///key.jar', 's3://bucket', 's3://bucket/', 's3://bucket/dir/', 'https://', 'local://opt/x.jar', 'file://otherhost/x.jar', 'https://h:99999/x.jar']) {
    const error = t.throws(() => parseArtifactUri(bad));
    t.true(error instanceof InvalidUriError || error instanceof UnsafePathError, `${bad}: ${error.name}`);
  }
});

test('traversal and separators in file names are refused', (t) => {
  const cases = [
    's3://b/a/%2e%2e',
    's3://b/..',
    's3://b/a/..%2F..%2Fetc%2Fpasswd',
    'https://h/a/..%2fx.jar',
    'https://h/a/%2e%2e',
    's3://b/a\\..\\x.jar',
    'gs://b/x%00.jar',
    'https://h/',
    'local:///',
    's3://b/.flink-artifacts',
    `s3://b/${'a'.repeat(256)}`,
  ];
  for (const bad of cases) {
    t.throws(() => parseArtifactUri(bad), undefined, bad);
  }
});

test('credentials in URIs are refused and never echoed', (t) => {
  const error = t.throws(() => parseArtifactUri('https://user:s3cr3t@h/x.jar'), { instanceOf: InvalidUriError });
  t.false(error.message.includes('s3cr3t'));
  t.false(error.message.includes('user:'));
});

test('redactUri masks user info and query values, also on unparseable text', (t) => {
  t.is(redactUri('https://u:p@h/x?sig=1&a=b#f'), 'https://***@h/x?sig=***&a=***#***');
  t.is(redactUri('s3://bucket/key.jar'), 's3://bucket/key.jar');
  t.is(redactUri('not a uri?token=zzz'), 'not a uri?token=***');
  t.is(redactUri('https://h/x?flag'), 'https://h/x?***');
});

test('Azure URIs in Flink\'s four forms name the container, the blob, the account and the cloud', (t) => {
  for (const [uri, suffix] of [
    ['abfss://jars@myacct.dfs.core.windows.net/flink/job.jar', 'core.windows.net'],
    ['abfs://jars@myacct.dfs.core.windows.net/flink/job.jar', 'core.windows.net'],
    ['wasbs://jars@myacct.blob.core.windows.net/flink/job.jar', 'core.windows.net'],
    ['wasb://jars@myacct.blob.core.chinacloudapi.cn/flink/job.jar', 'core.chinacloudapi.cn'],
  ] as const) {
    const parsed = parseArtifactUri(uri);
    t.deepEqual(parsed.location, { scheme: 'azure', bucket: 'jars', key: 'flink/job.jar', account: 'myacct', endpointSuffix: suffix }, uri);
    t.is(parsed.fileName, 'job.jar');
    // The container is part of the address, not a credential: it is kept in messages.
    t.is(parsed.display, uri);
  }
  t.is(parseArtifactUri('abfss://jars@myacct.dfs.core.windows.net/dir/my%20udf.jar').fileName, 'my udf.jar');
});

test('malformed Azure URIs are refused with the form to use', (t) => {
  for (const bad of [
    'abfss://myacct.dfs.core.windows.net/job.jar', // no container
    'abfss://jars@myacct.core.windows.net/job.jar', // no service
    'abfss://jars@myacct.file.core.windows.net/job.jar', // a file share, not blob storage
    'abfss://Jars@myacct.dfs.core.windows.net/job.jar', // containers are lowercase
    'abfss://a--b@myacct.dfs.core.windows.net/job.jar',
    'abfss://jars@myacct.dfs.core.windows.net/',
    'abfss://jars@myacct.dfs.core.windows.net/dir/',
    'abfss://jars@myacct.dfs.core.windows.net:443/job.jar',
    'abfss://jars@myacct.dfs.core.windows.net/job.jar?sv=2020&sig=abc',
    'abfss://jars:key@myacct.dfs.core.windows.net/job.jar',
  ]) {
    const error = t.throws(() => parseArtifactUri(bad), { instanceOf: InvalidUriError }, bad);
    t.false(error.message.includes('sig=abc'), bad);
    t.false(error.message.includes(':key'), bad);
  }
  const error = t.throws(() => parseArtifactUri('abfss://jars@myacct.core.windows.net/job.jar'), { instanceOf: InvalidUriError });
  t.regex(error.hint ?? '', /abfss:\/\/<container>@<account>\.dfs\.core\.windows\.net/);
});

test('oss:// parses like s3://; hdfs:// and viewfs:// are refused, listing what is supported', (t) => {
  t.deepEqual(parseArtifactUri('oss://bkt/jobs/job.jar').location, { scheme: 'oss', bucket: 'bkt', key: 'jobs/job.jar' });
  for (const scheme of ['hdfs', 'viewfs', 'ftp', 'cosn']) {
    const error = t.throws(() => parseArtifactUri(`${scheme}://nn:8020/jobs/job.jar`), { instanceOf: UnsupportedSchemeError });
    t.regex(error.message, new RegExp(`"${scheme}"`));
    for (const supported of ['s3', 'gs', 'oss', 'abfss', 'wasbs', 'https', 'file', 'local']) t.true(error.hint?.split(/, |: /).includes(supported), `${supported} in ${error.hint}`);
  }
});

test('Azure URIs name Azure\'s own clouds only: credentials for the account never go to another host', (t) => {
  for (const suffix of ['core.windows.net', 'core.chinacloudapi.cn', 'core.usgovcloudapi.net']) {
    t.is(parseArtifactUri(`abfss://jars@acct.dfs.${suffix}/x.jar`).location.scheme, 'azure', suffix);
  }
  for (const host of ['acct.dfs.attacker.test', 'acct.blob.core.windows.com', 'acct.dfs.storage.azure.net']) {
    const error = t.throws(() => parseArtifactUri(`abfss://jars@${host}/x.jar`), { instanceOf: InvalidUriError }, host);
    t.regex(error.message, /is not an Azure Storage endpoint suffix/);
    t.regex(error.hint ?? '', /flink-artifacts\.azure\.endpoint/);
  }
});
