import { resolve } from 'node:path';
import { FlinkKeys, formatFlinkList } from '@flink-artifacts/core';
import type { ManifestFormat, RenderOptions } from '@flink-artifacts/deploy';
import type { Argv } from 'yargs';
import { ExitCode, exitCodeFor, printError } from '../exit.ts';
import type { CliIo } from '../io.ts';
import { readPodTemplate, toYaml, writeFileAtomic } from '../manifest-io.ts';
import { loadConfig, withFlinkOptions, type FlinkArgs } from '../options.ts';
import { shellQuote } from '../shell.ts';

/**
 * The formats of the deploy package, repeated here so that parsing a command line does not load
 * it (and the Kubernetes schemas) for every `fetch`; a test keeps the two lists equal.
 */
export const FORMATS = ['pod-template', 'deployment', 'flinkdeployment'] as const satisfies readonly ManifestFormat[];

/** Arguments shared by `render` and `run-application`: how the fetcher is wired in. */
export interface WiringArgs {
  fetcherImage?: string | undefined;
  initContainerName?: string | undefined;
  volumeName?: string | undefined;
  volumeSizeLimit?: string | undefined;
}

/** Parsed arguments of `flink-artifacts render`. */
export interface RenderArgs extends FlinkArgs, WiringArgs {
  jobUri?: string | undefined;
  format?: ManifestFormat | undefined;
  output?: string | undefined;
  entryClass?: string | undefined;
  flinkVersion?: string | undefined;
}

/** Adds the wiring options to a command. */
export function withWiringOptions<T>(yargs: Argv<T>): Argv<T & WiringArgs> {
  return yargs
    .option('fetcher-image', { type: 'string', requiresArg: true, describe: 'Image of the init container (entrypoint: flink-artifacts fetch) [default: flink-artifacts-fetcher:<version>]' })
    .option('init-container-name', { type: 'string', requiresArg: true, describe: 'Name of the init container [default: artifacts-fetcher]' })
    .option('volume-name', { type: 'string', requiresArg: true, describe: 'Name of the shared emptyDir volume [default: flink-artifacts]' })
    .option('volume-size-limit', { type: 'string', requiresArg: true, describe: 'sizeLimit of the emptyDir, e.g. 2Gi [default: none]' }) as Argv<T & WiringArgs>;
}

export const renderCommand = {
  command: 'render [job-uri]',
  describe: 'Render the JobManager pod template (or a Deployment, or a FlinkDeployment) with the fetcher init container',
  builder: (yargs: Argv): Argv<RenderArgs> =>
    withWiringOptions(withFlinkOptions(yargs))
      .positional('job-uri', { type: 'string', describe: 'The job jar [default: the single entry of pipeline.jars]' })
      .option('format', { choices: FORMATS, default: 'pod-template' as const, describe: 'What to render' })
      .option('output', { alias: 'o', type: 'string', requiresArg: true, describe: 'Write to this file instead of stdout' })
      .option('entry-class', { type: 'string', requiresArg: true, describe: 'The job\'s main class (deployment, flinkdeployment)' })
      .option('flink-version', { type: 'string', requiresArg: true, describe: 'The operator\'s flinkVersion (flinkdeployment) [default: v1_20]' })
      .example('$0 render s3://bucket/job.jar -Dkubernetes.cluster-id=my-app -o jm-template.yaml', 'a pod template for -Dkubernetes.pod-template-file.jobmanager'),
};

/** The render options from parsed arguments and a resolved config (shared with run-application). */
export async function renderOptionsFor(args: RenderArgs, config: RenderOptions['config'], io: CliIo): Promise<RenderOptions> {
  const template = await readPodTemplate(config, io.cwd);
  return {
    config,
    jobUri: args.jobUri,
    template,
    ...(args.fetcherImage === undefined ? {} : { fetcherImage: args.fetcherImage }),
    ...(args.initContainerName === undefined ? {} : { initContainerName: args.initContainerName }),
    ...(args.volumeName === undefined ? {} : { volumeName: args.volumeName }),
    ...(args.volumeSizeLimit === undefined ? {} : { volumeSizeLimit: args.volumeSizeLimit }),
    ...(args.entryClass === undefined ? {} : { entryClass: args.entryClass }),
    ...(args.flinkVersion === undefined ? {} : { flinkVersion: args.flinkVersion }),
  };
}

export async function runRender(args: RenderArgs, io: CliIo, secrets: string[]): Promise<number> {
  try {
    const config = await loadConfig(args, io, secrets);
    const format = args.format ?? 'pod-template';
    const { renderManifest } = await import('@flink-artifacts/deploy');
    const { manifest, wiring } = renderManifest(format, await renderOptionsFor(args, config, io));
    for (const warning of wiring.warnings) io.stderr.write(`flink-artifacts: warning: ${warning}\n`);
    if (!wiring.fetchesAnything) io.stderr.write('flink-artifacts: note: nothing remote to fetch; no init container added\n');
    const yaml = toYaml(manifest);
    const output = args.output === undefined ? undefined : resolve(io.cwd, args.output);
    if (output === undefined) io.stdout.write(yaml);
    else await writeFileAtomic(output, yaml);
    if (format === 'pod-template') {
      const flinkArgs = [
        ...(output === undefined ? [] : [`-Dkubernetes.pod-template-file.jobmanager=${output}`]),
        ...(wiring.artifactList.length > 0 ? [`-D${FlinkKeys.artifactList}=${formatFlinkList(wiring.artifactList)}`] : []),
        ...(wiring.jobUri === null ? [] : [wiring.jobUri]),
      ];
      if (flinkArgs.length > 0) io.stderr.write(`flink-artifacts: for flink run-application: ${flinkArgs.map(shellQuote).join(' ')}\n`);
    }
    return ExitCode.ok;
  } catch (error) {
    printError(error, io, false);
    return exitCodeFor(error, io.signal);
  }
}
