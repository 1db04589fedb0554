/**
 * A stand-in Flink distribution: `$FLINK_HOME` laid out as Flink's (bin/flink, lib/flink-dist-<v>.jar,
 * conf/), whose `bin/flink` records the arguments and environment it was started with and the
 * JobManager pod template it was given, then answers as Flink's client does. Flink itself cannot
 * be installed here; everything around it is real.
 */
import { chmod, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir, writeFixture } from './fixtures.ts';

export interface FakeFlinkHomeOptions {
  /** The version of lib/flink-dist-<version>.jar; none for a directory that is no Flink distribution. */
  readonly version?: string | undefined;
  /** Files of conf/, by name (config.yaml, flink-conf.yaml). */
  readonly conf?: Readonly<Record<string, string>>;
  /** Exit code of bin/flink. @default 0 */
  readonly exitCode?: number;
}

export interface FakeFlinkHome {
  readonly home: string;
  /** The arguments of the last bin/flink run, or undefined if it never ran. */
  argv(): Promise<string[] | undefined>;
  /** FLINK_CONF_DIR as bin/flink saw it ('' when unset). */
  confDir(): Promise<string>;
  /** The JobManager pod template bin/flink was given (-Dkubernetes.pod-template-file.jobmanager), as text. */
  template(): Promise<string>;
}

export async function fakeFlinkHome(options: FakeFlinkHomeOptions = {}): Promise<FakeFlinkHome> {
  const home = await tempDir('fa-flink-home-');
  const major = Number(options.version?.split('.')[0] ?? 1);
  // Flink 2.x has no run-application action (FLINK-36310): its client refuses it.
  const script = `#!/usr/bin/env bash
home=$(cd "$(dirname "$0")/.." && pwd)
if [ "${major}" -ge 2 ] && [ "$1" = run-application ]; then
  echo '"run-application" is not a valid action.' >&2
  exit 1
fi
printf '%s\\0' "$@" > "$home/.argv"
printf '%s' "\${FLINK_CONF_DIR-}" > "$home/.conf-dir"
for arg in "$@"; do
  case "$arg" in -Dkubernetes.pod-template-file.jobmanager=*) cp "\${arg#*=}" "$home/.template.yaml";; esac
done
echo "Job has been submitted with JobID 0123456789abcdef0123456789abcdef"
exit ${options.exitCode ?? 0}
`;
  await writeFixture(join(home, 'bin', 'flink'), script);
  await chmod(join(home, 'bin', 'flink'), 0o755);
  await writeFixture(join(home, 'lib', options.version === undefined ? 'log4j-api-2.24.1.jar' : `flink-dist-${options.version}.jar`), '');
  for (const [name, text] of Object.entries(options.conf ?? {})) await writeFixture(join(home, 'conf', name), text);
  // As shipped: Flink 1.19 introduced config.yaml; before, the distribution has flink-conf.yaml.
  const minor = Number(options.version?.split('.')[1] ?? 20);
  const shipped = major < 2 && minor < 19 ? 'flink-conf.yaml' : 'config.yaml';
  if (options.conf === undefined) await writeFixture(join(home, 'conf', shipped), '# as shipped\n');
  return {
    home,
    argv: async () => {
      const text = await readFile(join(home, '.argv'), 'utf8').catch(() => undefined);
      return text === undefined ? undefined : text.split('\0').slice(0, -1);
    },
    confDir: () => readFile(join(home, '.conf-dir'), 'utf8'),
    template: () => readFile(join(home, '.template.yaml'), 'utf8'),
  };
}
