import { resolve } from 'node:path';
import { checkFetchable, FlinkKeys, flinkRunAction, formatFlinkList, parseArtifactUri, readArtifactList, readHttpSettings, readSourcePolicy, type FlinkConfig } from '@flink-artifacts/core';
import type { ManifestFormat, PodTemplates, RenderOptions } from '@flink-artifacts/deploy';
import type { Argv, Options } from 'yargs';
import { ExitCode, exitCodeFor, printError } from '../exit.ts';
import { displayCommand, flinkCommandArgs, withoutTarget } from '../flink-command.ts';
import { jobAndArguments, jobOptionsFrom, loadFlinkContext, misplacedOptionWarnings, type FlinkContext } from '../flink-context.ts';
import type { FlinkRunCommandLine } from '../flink-run-argv.ts';
import type { CliIo } from '../io.ts';
import { readPodTemplates, toYaml, writeFileAtomic } from '../manifest-io.ts';
import { FLINK_OPTIONS, ownOptionSpecs, withFlinkOptions, type FlinkArgs } from '../options.ts';

/**
 * The formats of the deploy package, repeated here so that parsing a command line does not load
 * it (and the Kubernetes schemas) for every `fetch`; a test keeps the lists equal.
 */
export const FORMATS = ['pod-template', 'deployment', 'flinkdeployment'] as const satisfies readonly ManifestFormat[];
/** The deploy package's upgrade modes and JobManager kinds, repeated for the same reason. */
export const UPGRADE_MODES = ['stateless', 'savepoint', 'last-state'] as const;
export const JOBMANAGER_KINDS = ['job', 'deployment'] as const;

/** Arguments shared by `render` and `run-application`: how the fetcher is wired in. */
export interface WiringArgs {
  fetcherImage?: string | undefined;
  initContainerName?: string | undefined;
  volumeName?: string | undefined;
  volumeSizeLimit?: string | undefined;
  flinkVersion?: string | undefined;
  check?: boolean | undefined;
  /** Set by the command-line parser: the Flink-syntax part of the command line. */
  flinkRun?: FlinkRunCommandLine;
}

/** Parsed arguments of `flink-artifacts render`. */
export interface RenderArgs extends FlinkArgs, WiringArgs {
  jobUri?: string | undefined;
  format?: ManifestFormat | undefined;
  output?: string | undefined;
  entryClass?: string | undefined;
  upgradeMode?: (typeof UPGRADE_MODES)[number] | undefined;
  jobmanagerKind?: (typeof JOBMANAGER_KINDS)[number] | undefined;
}

/** Options of `render` and `run-application` that wire the fetcher in. */
export const WIRING_OPTIONS = {
  'fetcher-image': {
    type: 'string',
    requiresArg: true,
    describe: 'Image of the init container, pushed where the cluster pulls from (entrypoint: flink-artifacts fetch) [default: flink-artifacts.fetcher.image]',
  },
  'init-container-name': { type: 'string', requiresArg: true, describe: 'Name of the init container [default: artifacts-fetcher]' },
  'volume-name': { type: 'string', requiresArg: true, describe: 'Name of the emptyDir volume added for the artifacts when the template mounts none at the base dir (a volume it mounts there, a PVC, is used instead) [default: flink-artifacts]' },
  'volume-size-limit': { type: 'string', requiresArg: true, describe: 'sizeLimit of the emptyDir, a Kubernetes quantity such as 2Gi [default: none]' },
  'flink-version': {
    type: 'string',
    requiresArg: true,
    describe: 'The Flink version (1.20, 2.0.0, v2_0) [default: read off $FLINK_HOME/lib/flink-dist-*.jar, else the flink image tag, else 1.20]',
  },
} as const satisfies Record<string, Options>;

/** Options of `render` only. */
export const RENDER_OPTIONS = {
  format: { choices: FORMATS, default: 'pod-template' as const, requiresArg: true, describe: 'What to render' },
  output: { alias: 'o', type: 'string', requiresArg: true, describe: 'Write to this file instead of stdout' },
  'entry-class': { type: 'string', requiresArg: true, describe: 'The job\'s main class (deployment, flinkdeployment); Flink\'s -c/--class works too' },
  'upgrade-mode': { choices: UPGRADE_MODES, requiresArg: true, describe: 'The FlinkDeployment\'s job.upgradeMode [default: stateless]' },
  'jobmanager-kind': { choices: JOBMANAGER_KINDS, requiresArg: true, describe: '--format deployment: a batch/v1 Job or an apps/v1 Deployment [default: deployment with high availability, else job]' },
  check: { type: 'boolean', default: false, describe: 'Check first that every remote artifact exists (one HEAD each, with this machine\'s credentials)' },
} as const satisfies Record<string, Options>;

/** Our own options of `render`, for the Flink-syntax argv splitter. */
export const RENDER_OWN_OPTIONS = ownOptionSpecs(FLINK_OPTIONS, WIRING_OPTIONS, RENDER_OPTIONS);

const FLINK_OPTIONS_NOTE =
  'Syntax as bin/flink run: [OPTIONS] [JOB_URI] [PROGRAM ARGUMENTS]; everything after the jar (or after --) is the program\'s. ' +
  'Flink\'s run options (-c/--class, -p/--parallelism, -s/--fromSavepoint, -n/--allowNonRestoredState, -d, -C, -cm, -rm, -py...) are accepted.';

export const renderCommand = {
  command: 'render [job-uri]',
  describe: 'Render the JobManager pod template (or a Job/Deployment, or a FlinkDeployment) with the fetcher init container',
  builder: (yargs: Argv): Argv<RenderArgs> =>
    (withFlinkOptions(yargs).options({ ...WIRING_OPTIONS, ...RENDER_OPTIONS }) as unknown as Argv<RenderArgs>)
      .positional('job-uri', { type: 'string', describe: 'The job jar [default: the single entry of pipeline.jars]' })
      .epilogue(FLINK_OPTIONS_NOTE)
      .example('$0 render -Dkubernetes.cluster-id=my-app --fetcher-image registry.example.com/flink-artifacts-fetcher:0.1.0 s3://bucket/job.jar -o jm.yaml', 'a pod template for -Dkubernetes.pod-template-file.jobmanager')
      .example('$0 render --format flinkdeployment -Dkubernetes.cluster-id=my-app -c com.example.Job s3://bucket/job.jar --input s3://in', 'an operator FlinkDeployment with the program\'s arguments'),
};

/** The render options from parsed arguments, a resolved context and the job. */
export async function renderOptionsFor(
  args: RenderArgs,
  context: FlinkContext,
  config: FlinkConfig,
  jobUri: string | undefined,
  programArgs: readonly string[],
  io: CliIo,
  roles: readonly (keyof PodTemplates)[],
): Promise<RenderOptions> {
  const run = args.flinkRun ?? emptyRun;
  return {
    config,
    jobUri,
    templates: await readPodTemplates(config, io.cwd, roles),
    fetcherImage: args.fetcherImage,
    initContainerName: args.initContainerName,
    volumeName: args.volumeName,
    volumeSizeLimit: args.volumeSizeLimit,
    flinkVersion: context.cluster.version,
    job: jobOptionsFrom(run, programArgs, { entryClass: args.entryClass, upgradeMode: args.upgradeMode }),
    ...(args.jobmanagerKind === undefined ? {} : { jobManagerKind: args.jobmanagerKind }),
  };
}

const emptyRun: FlinkRunCommandLine = { own: [], flinkOptions: [], jobUri: undefined, programArgs: [], separated: false };

/**
 * Every artifact of the configuration (job and list), parsed, for the existence check; the
 * remote ones checked first against what the fetcher will refuse (plain http, the source
 * policy), which is a usage error, not a missing object.
 */
export function remoteArtifacts(config: FlinkConfig, jobUri: string | undefined): ReturnType<typeof parseArtifactUri>[] {
  const policy = readSourcePolicy(config);
  const { rawHttpEnabled } = readHttpSettings(config);
  return [...(jobUri === undefined ? [] : [jobUri]), ...readArtifactList(config)].map((raw) => {
    const uri = parseArtifactUri(raw);
    if (uri.location.scheme !== 'local' && uri.location.scheme !== 'file') checkFetchable(uri, policy, rawHttpEnabled);
    return uri;
  });
}

/** Checks that the remote artifacts exist, saying so on stderr. */
export async function checkArtifacts(config: FlinkConfig, jobUri: string | undefined, io: CliIo): Promise<void> {
  const { checkRemoteArtifacts } = await import('@flink-artifacts/client');
  const checked = await checkRemoteArtifacts({ config, uris: remoteArtifacts(config, jobUri), ...(io.signal ? { signal: io.signal } : {}) });
  if (checked > 0) io.stderr.write(`flink-artifacts: checked ${checked} remote artifact${checked === 1 ? '' : 's'}: all exist\n`);
}

// Flink run options a Job/Deployment or a FlinkDeployment carries in its own fields.
const MAPPED_FLINK_OPTIONS = new Set(['class', 'parallelism', 'fromSavepoint', 'allowNonRestoredState', 'target', 'executor']);

export async function runRender(args: RenderArgs, io: CliIo, secrets: string[]): Promise<number> {
  try {
    const run = args.flinkRun ?? emptyRun;
    const context = await loadFlinkContext(args, io, secrets, false);
    const { config } = context;
    const format = args.format ?? 'pod-template';
    const { jobUri, programArgs } = jobAndArguments(run, config);
    const flinkOptions = withoutTarget(run.flinkOptions);
    const warnings = [...context.warnings, ...misplacedOptionWarnings(run, RENDER_OWN_OPTIONS.flatMap((spec) => spec.names))];
    if (format !== 'pod-template') {
      const unmapped = flinkOptions.filter((option) => !MAPPED_FLINK_OPTIONS.has(option.spec.long));
      if (unmapped.length > 0) {
        warnings.push(`${unmapped.map((option) => option.tokens.join(' ')).join(', ')}: no field of a ${format} carries ${unmapped.length === 1 ? 'it' : 'them'}; set the equivalent Flink option with -D`);
      }
    }
    if (args.check === true) await checkArtifacts(config, jobUri, io);
    const { renderManifest } = await import('@flink-artifacts/deploy');
    const roles: (keyof PodTemplates)[] = format === 'flinkdeployment' ? ['jobmanager', 'taskmanager', 'default'] : ['jobmanager', 'default'];
    const rendered = renderManifest(format, await renderOptionsFor(args, context, config, jobUri, programArgs, io, roles));
    for (const warning of [...warnings, ...rendered.warnings]) io.stderr.write(`flink-artifacts: warning: ${warning}\n`);
    if (!rendered.wiring.fetchesAnything) io.stderr.write('flink-artifacts: note: nothing remote to fetch; no init container added\n');
    const yaml = toYaml(rendered.manifest);
    const output = args.output === undefined ? undefined : resolve(io.cwd, args.output);
    if (output === undefined) (io.dataOut ?? io.stdout).write(yaml);
    else await writeFileAtomic(output, yaml);
    if (format === 'pod-template') {
      const { wiring } = rendered;
      const words = flinkCommandArgs({
        action: flinkRunAction(context.client.version),
        dynamicProperties: [
          `-Dkubernetes.pod-template-file.jobmanager=${output ?? '<the template above>'}`,
          ...(wiring.artifactList.length > 0 ? [`-D${FlinkKeys.artifactList}=${formatFlinkList(wiring.artifactList)}`] : []),
        ],
        flinkOptions,
        jobUri: wiring.jobUri,
        programArgs,
      });
      io.stderr.write(`flink-artifacts: then run (with your other options): $FLINK_HOME/bin/flink ${displayCommand(words)}\n`);
    }
    return ExitCode.ok;
  } catch (error) {
    printError(error, io, false);
    return exitCodeFor(error, io.signal);
  }
}
