import test from 'ava';
import { UsageError } from '@flink-artifacts/core';
import { RENDER_OWN_OPTIONS } from '../src/commands/render.ts';
import { RUN_APPLICATION_OWN_OPTIONS } from '../src/commands/run-application.ts';
import { displayCommand } from '../src/flink-command.ts';
import { splitFlinkRunArgv } from '../src/flink-run-argv.ts';

const split = (tokens: string[]) => splitFlinkRunArgv(tokens, RUN_APPLICATION_OWN_OPTIONS);

test('Flink\'s syntax: options, the jar, then the program\'s arguments even when they look like options', (t) => {
  const line = split(['-Dk=v', '-c', 'com.Ex', '--parallelism', '3', '--fetcher-image', 'img', '-n', 'job.jar', '-c', 'x', '--dry-run', '-Dz=1']);
  t.deepEqual(line.own, ['-D', 'k=v', '--fetcher-image', 'img']);
  t.deepEqual(line.flinkOptions.map((o) => o.tokens), [['-c', 'com.Ex'], ['--parallelism', '3'], ['-n']]);
  t.is(line.jobUri, 'job.jar');
  t.deepEqual(line.programArgs, ['-c', 'x', '--dry-run', '-Dz=1']);
  t.false(line.separated);
});

test('-- ends the options; before it, options and the jar may mix', (t) => {
  const line = split(['job.jar', '-Dk=v', '--no-check', '--', '--input', 'a', '--', 'b']);
  t.is(line.jobUri, 'job.jar');
  t.deepEqual(line.own, ['-D', 'k=v', '--no-check']);
  t.deepEqual(line.programArgs, ['--input', 'a', '--', 'b']);
  t.true(line.separated);
  t.deepEqual(split(['-Dk=v', '--', 'job.jar', 'x']), { own: ['-D', 'k=v'], flinkOptions: [], jobUri: undefined, programArgs: ['job.jar', 'x'], separated: true });
});

test('--name=value, -D key=value and glued -Dkey=value; a missing value or an unknown option is a usage error', (t) => {
  const line = split(['--class=com.Ex', '-D', 'a=b', '-Dc=d=e', '--pod-template-out=/x.yaml', 'j.jar']);
  t.deepEqual(line.flinkOptions[0]!.value, 'com.Ex');
  t.deepEqual(line.own, ['-D', 'a=b', '-D', 'c=d=e', '--pod-template-out=/x.yaml']);
  t.throws(() => split(['-p']), { instanceOf: UsageError, message: /-p needs a value/ });
  t.throws(() => split(['--bogus', 'j.jar']), { instanceOf: UsageError, message: /unknown option --bogus/ });
  t.throws(() => split(['-x', 'j.jar']), { instanceOf: UsageError, message: /unknown option -x/ });
});

test('between the jar and a --, only -D and our options; anything else and the whole rest is the program\'s, as bin/flink passes it', (t) => {
  t.deepEqual(split(['a.jar', 'b.jar', '--']).programArgs, ['b.jar', '--']);
  const flinkLooking = split(['j.jar', '--parallelism', '7', '--', '--x']);
  t.deepEqual(flinkLooking.flinkOptions, [], '--parallelism after the jar is the program\'s, not Flink\'s');
  t.deepEqual(flinkLooking.programArgs, ['--parallelism', '7', '--', '--x']);
  t.false(flinkLooking.separated);
  const mixed = split(['j.jar', '-Dk=v', '--input', '1', '--', 'x']);
  t.deepEqual(mixed.own, [], 'a -D before an unknown word is the program\'s too');
  t.deepEqual(mixed.programArgs, ['-Dk=v', '--input', '1', '--', 'x']);
  t.deepEqual(split(['j.jar', '', 'a b', '--', 'x']).programArgs, ['', 'a b', '--', 'x']);
  t.deepEqual(split(['j.jar', '--fetcher-image', '--']).programArgs, ['--fetcher-image', '--'], 'an option of ours missing its value after the jar is the program\'s');
});

test('one-letter Flink options with a value glued or after =, as commons-cli reads them: -p3, -p=3, -ccom.Ex', (t) => {
  const line = split(['-p3', '-ccom.Ex', '-p=4', '-pyfs', 'a.py', '-s3://b/sp', 'j.jar']);
  t.deepEqual(line.flinkOptions.map((o) => [o.spec.long, o.value]), [['parallelism', '3'], ['class', 'com.Ex'], ['parallelism', '4'], ['pyFiles', 'a.py'], ['fromSavepoint', '3://b/sp']]);
  t.deepEqual(line.flinkOptions[0]!.tokens, ['-p3'], 'passed on to bin/flink as given');
  t.throws(() => split(['-d3', 'j.jar']), { instanceOf: UsageError, message: /unknown option -d3/ }, '-d takes no value');
});

test('render\'s own options: -o and --format take values, --check does not', (t) => {
  const line = splitFlinkRunArgv(['-o', 'out.yaml', '--format', 'deployment', '--check', 'j.jar', '-o', 'p'], RENDER_OWN_OPTIONS);
  t.deepEqual(line.own, ['-o', 'out.yaml', '--format', 'deployment', '--check']);
  t.deepEqual(line.programArgs, ['-o', 'p']);
});

test('a displayed command masks credential values by key and leaves every other word as it is', (t) => {
  t.is(
    displayCommand(['run', '-Ds3.secret-key=flink', '-Dkubernetes.container.image.ref=flink:2.0', '-Duser.artifacts.http-headers=Authorization:Bearer x', 'a b']),
    "run '-Ds3.secret-key=***' -Dkubernetes.container.image.ref=flink:2.0 '-Duser.artifacts.http-headers=***' 'a b'",
  );
});
