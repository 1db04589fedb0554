import {
  ASSUMED_FLINK_VERSION,
  ConfigError,
  UsageError,
  detectFlinkHomeVersion,
  configuredFlinkImage,
  formatFlinkVersion,
  imageFlinkVersion,
  isAtLeast,
  parseFlinkVersion,
  readJobUri,
  type DetectedFlinkVersion,
  type FlinkConfig,
  type FlinkVersion,
} from '@flink-artifacts/core';
import type { JobOptions } from '@flink-artifacts/deploy';
import { flinkOptionValue, hasFlinkOption, type FlinkRunCommandLine } from './flink-run-argv.ts';
import type { CliIo } from './io.ts';
import { loadConfig, type FlinkArgs } from './options.ts';

/** Arguments that decide which Flink a command talks to. */
export interface FlinkContextArgs extends FlinkArgs {
  flinkVersion?: string | undefined;
}

/** The Flink a render or submission is for, and its configuration. */
export interface FlinkContext {
  readonly config: FlinkConfig;
  /** `$FLINK_HOME`, when set. */
  readonly flinkHome: string | undefined;
  /** The Flink whose `bin/flink` submits: decides the command's form. */
  readonly client: DetectedFlinkVersion;
  /** The Flink the cluster runs (the image's): decides the operator's flinkVersion. */
  readonly cluster: DetectedFlinkVersion;
  /** Things the user should know. */
  readonly warnings: string[];
}

function describe(detected: DetectedFlinkVersion): string {
  const source = { option: 'from --flink-version', 'flink-home': 'of $FLINK_HOME', image: 'of the image', default: 'assumed: no --flink-version, FLINK_HOME or flink image tag says otherwise' }[detected.source];
  return `Flink ${formatFlinkVersion(detected.version)} (${source})`;
}

/**
 * Which Flink this is about, and its configuration read as that Flink's `bin/flink` reads it.
 * The version comes from `--flink-version`, else `$FLINK_HOME/lib/flink-dist-<version>.jar`,
 * else the tag of an official `flink` image, else the default image's (1.20). The cluster's
 * version prefers the image over `$FLINK_HOME`.
 *
 * @param needsFlinkHome `bin/flink` will run: `$FLINK_HOME` must be a Flink distribution.
 * @throws ConfigError, UsageError.
 */
export async function loadFlinkContext(args: FlinkContextArgs, io: CliIo, secrets: string[], needsFlinkHome: boolean): Promise<FlinkContext> {
  const option = args.flinkVersion === undefined ? undefined : parseFlinkVersion(args.flinkVersion);
  const flinkHome = io.env.FLINK_HOME || undefined;
  if (needsFlinkHome && flinkHome === undefined) {
    throw new UsageError('FLINK_HOME is not set: run-application runs $FLINK_HOME/bin/flink', { hint: 'point FLINK_HOME at a Flink distribution, or use --dry-run' });
  }
  const home = flinkHome === undefined ? undefined : await detectFlinkHomeVersion(flinkHome);
  if (needsFlinkHome && home === undefined && option === undefined) {
    throw new ConfigError(`cannot tell which Flink ${flinkHome} is: it has no lib/flink-dist-<version>.jar`, {
      hint: 'point FLINK_HOME at a Flink distribution, or say its version with --flink-version',
    });
  }
  const config = await loadConfig(args, io, secrets, option ?? home);
  const configuredImage = configuredFlinkImage(config);
  const image = configuredImage === undefined ? undefined : imageFlinkVersion(configuredImage);
  const pick = (order: [FlinkVersion | undefined, DetectedFlinkVersion['source']][]): DetectedFlinkVersion => {
    for (const [version, source] of order) if (version !== undefined) return { version, source };
    return { version: ASSUMED_FLINK_VERSION, source: 'default' };
  };
  const client = pick([[option, 'option'], [home, 'flink-home'], [image, 'image']]);
  const cluster = pick([[option, 'option'], [image, 'image'], [home, 'flink-home']]);

  const warnings: string[] = [];
  if (home !== undefined && image !== undefined && formatFlinkVersion(home) !== formatFlinkVersion(image) && option === undefined) {
    warnings.push(`$FLINK_HOME is Flink ${formatFlinkVersion(home)} but the image ${configuredImage} runs Flink ${formatFlinkVersion(image)}: submit with the same Flink as the cluster runs`);
  }
  const artifactKeys = [...config.keys()].filter((key) => key.startsWith('user.artifacts.'));
  if (artifactKeys.length > 0 && !isAtLeast(cluster.version, 1, 19)) {
    warnings.push(
      `${describe(cluster)} predates user artifact management (Flink 1.19): it ignores ${artifactKeys.join(', ')}. ` +
        'The init container still fetches the files, but Flink will not put the artifact list on the classpath',
    );
  }
  return { config, flinkHome, client, cluster, warnings };
}

/** The job jar and the program's arguments of a Flink-style command line, given the configuration. */
export function jobAndArguments(run: FlinkRunCommandLine, config: FlinkConfig): { jobUri: string | undefined; programArgs: string[] } {
  if (run.jobUri !== undefined) return { jobUri: run.jobUri, programArgs: [...run.programArgs] };
  // `[OPTIONS] -- <jar> <arguments>`: as Flink reads it, unless pipeline.jars names the jar.
  if (run.separated && readJobUri(config) === undefined && run.programArgs.length > 0) {
    const [jobUri, ...programArgs] = run.programArgs;
    return { jobUri, programArgs };
  }
  return { jobUri: undefined, programArgs: [...run.programArgs] };
}

/** Flink's run options as the manifests' job fields. @throws UsageError for a malformed parallelism. */
export function jobOptionsFrom(run: FlinkRunCommandLine, programArgs: readonly string[], extra: { entryClass?: string | undefined; upgradeMode?: JobOptions['upgradeMode'] }): JobOptions {
  const parallelism = flinkOptionValue(run.flinkOptions, 'parallelism');
  if (parallelism !== undefined && (!/^\d+$/.test(parallelism) || Number(parallelism) < 1)) {
    throw new UsageError(`-p/--parallelism must be a whole number of at least 1, got ${JSON.stringify(parallelism)}`);
  }
  return {
    entryClass: flinkOptionValue(run.flinkOptions, 'class') ?? extra.entryClass,
    args: programArgs,
    ...(parallelism === undefined ? {} : { parallelism: Number(parallelism) }),
    savepointPath: flinkOptionValue(run.flinkOptions, 'fromSavepoint'),
    ...(hasFlinkOption(run.flinkOptions, 'allowNonRestoredState') ? { allowNonRestoredState: true } : {}),
    upgradeMode: extra.upgradeMode,
  };
}

/**
 * Warnings for program arguments that look like options meant for us or for Flink: after the
 * jar, Flink hands everything to the program, and so do we.
 */
export function misplacedOptionWarnings(run: FlinkRunCommandLine, ownNames: readonly string[]): string[] {
  if (run.separated) return [];
  const suspicious = run.programArgs.filter((arg) => /^-D[\w.-]+=/.test(arg) || ownNames.some((name) => arg === `--${name}` || arg.startsWith(`--${name}=`)));
  if (suspicious.length === 0) return [];
  return [
    `${suspicious.join(' ')} ${suspicious.length === 1 ? 'comes' : 'come'} after the job jar, so ${suspicious.length === 1 ? 'it goes' : 'they go'} to the program's main(), as with bin/flink; ` +
      'put options before the jar (or separate the program\'s arguments with --)',
  ];
}
