import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import {
  ConfigError,
  configFileOrder,
  detectFlinkHomeVersion,
  flinkImage,
  flinkRunAction,
  imageFlinkVersion,
  operatorFlinkVersion,
  parseFlinkVersion,
  resolveFlinkConfig,
} from '../src/index.ts';

test('versions parse from releases, snapshots and the operator\'s enum; anything else names the option', (t) => {
  for (const [text, major, minor] of [['1.20', 1, 20], ['1.20.1', 1, 20], ['2.0.0', 2, 0], ['2.1-SNAPSHOT', 2, 1], ['v1_19', 1, 19], ['v2_0', 2, 0]] as const) {
    t.like(parseFlinkVersion(text), { major, minor }, text);
  }
  for (const bad of ['latest', '1', 'v1.20', '1.x', '']) t.throws(() => parseFlinkVersion(bad), { instanceOf: ConfigError, message: /--flink-version/ }, bad);
});

test('$FLINK_HOME/lib/flink-dist-<version>.jar tells the version; two versions are an error; none is undefined', async (t) => {
  const home = await mkdtemp(join(tmpdir(), 'fa-home-'));
  await mkdir(join(home, 'lib'));
  t.is(await detectFlinkHomeVersion(home), undefined);
  await writeFile(join(home, 'lib', 'flink-dist-2.0.0.jar'), '');
  await writeFile(join(home, 'lib', 'flink-table-api-java-uber-2.0.0.jar'), '');
  t.like(await detectFlinkHomeVersion(home), { major: 2, minor: 0 });
  await writeFile(join(home, 'lib', 'flink-dist-1.20.0.jar'), '');
  await t.throwsAsync(detectFlinkHomeVersion(home), { instanceOf: ConfigError, message: /several versions \(1\.20, 2\.0\)/ });
  const scala = await mkdtemp(join(tmpdir(), 'fa-home-'));
  await mkdir(join(scala, 'lib'));
  await writeFile(join(scala, 'lib', 'flink-dist_2.12-1.14.6.jar'), '');
  t.like(await detectFlinkHomeVersion(scala), { major: 1, minor: 14 });
  t.is(await detectFlinkHomeVersion(join(home, 'nope')), undefined);
});

test('image tags of the official flink image tell the version; other images do not', (t) => {
  t.like(imageFlinkVersion('flink:2.0.0-java17'), { major: 2, minor: 0 });
  t.like(imageFlinkVersion('apache/flink:1.19.1-scala_2.12-java11'), { major: 1, minor: 19 });
  t.like(imageFlinkVersion('registry.example.com:5000/mirror/flink:1.20'), { major: 1, minor: 20 });
  for (const image of ['my-team/job:1.20', 'flink:latest', 'flink@sha256:abc', 'flink', 'flink-operator:1.10']) t.is(imageFlinkVersion(image), undefined, image);
  t.is(flinkImage(new Map(), parseFlinkVersion('2.1')), 'flink:2.1');
  t.is(flinkImage(new Map([['kubernetes.container.image.ref', 'mine:1']]), parseFlinkVersion('2.1')), 'mine:1');
});

test('the submit action and the operator version follow the Flink version', (t) => {
  t.is(flinkRunAction(parseFlinkVersion('1.19')), 'run-application');
  t.is(flinkRunAction(parseFlinkVersion('1.20')), 'run');
  t.is(flinkRunAction(parseFlinkVersion('2.0')), 'run');
  t.is(operatorFlinkVersion(parseFlinkVersion('2.0.0')), 'v2_0');
  t.throws(() => operatorFlinkVersion(parseFlinkVersion('v1_12')), { instanceOf: ConfigError, message: /no flinkVersion v1_12/ });
  t.throws(() => operatorFlinkVersion(parseFlinkVersion('3.0')), { instanceOf: ConfigError });
});

test('config file precedence per Flink version; FLINK_CONF_DIR, else $FLINK_HOME/conf', async (t) => {
  t.deepEqual(configFileOrder(parseFlinkVersion('1.18')), ['flink-conf.yaml']);
  t.deepEqual(configFileOrder(parseFlinkVersion('1.19')), ['flink-conf.yaml', 'config.yaml']);
  t.deepEqual(configFileOrder(parseFlinkVersion('2.0')), ['config.yaml']);
  t.deepEqual(configFileOrder(undefined), ['config.yaml', 'flink-conf.yaml']);
  const home = await mkdtemp(join(tmpdir(), 'fa-home-'));
  await mkdir(join(home, 'conf'));
  await writeFile(join(home, 'conf', 'config.yaml'), 'kubernetes.cluster-id: standard\n');
  await writeFile(join(home, 'conf', 'flink-conf.yaml'), 'kubernetes.cluster-id: legacy\n');
  const fromHome = await resolveFlinkConfig({ env: { FLINK_HOME: home }, flinkVersion: parseFlinkVersion('1.20') });
  t.is(fromHome.config.get('kubernetes.cluster-id'), 'legacy');
  t.is(fromHome.confDir, join(home, 'conf'));
  t.is((await resolveFlinkConfig({ env: { FLINK_HOME: home }, flinkVersion: parseFlinkVersion('2.0') })).config.get('kubernetes.cluster-id'), 'standard');
  const other = await mkdtemp(join(tmpdir(), 'fa-conf-'));
  await writeFile(join(other, 'config.yaml'), 'kubernetes.cluster-id: env\n');
  t.is((await resolveFlinkConfig({ env: { FLINK_HOME: home, FLINK_CONF_DIR: other } })).config.get('kubernetes.cluster-id'), 'env');
  t.is((await resolveFlinkConfig({ env: {} })).confDir, undefined);
});
