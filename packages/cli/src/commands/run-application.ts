import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { UploadFailedError, uploadArtifacts } from '@flink-artifacts/client';
import { FlinkKeys, UsageError, flinkRunAction, formatFlinkList, parseFlinkBoolean, readString } from '@flink-artifacts/core';
import type { Argv, Options } from 'yargs';
import { dynamicProperties } from '../argv.ts';
import { ExitCode, exitCodeFor, printError } from '../exit.ts';
import { displayCommand, flinkCommandArgs, withoutTarget } from '../flink-command.ts';
import { jobAndArguments, loadFlinkContext, misplacedOptionWarnings } from '../flink-context.ts';
import type { CliIo } from '../io.ts';
import { toYaml, writeFileAtomic } from '../manifest-io.ts';
import { FLINK_OPTIONS, ownOptionSpecs, withFlinkOptions, type FlinkArgs } from '../options.ts';
import { createProgress } from '../progress.ts';
import { shellQuote } from '../shell.ts';
import { checkArtifacts, renderOptionsFor, WIRING_OPTIONS, type WiringArgs } from './render.ts';
import { uploadLine } from './upload.ts';

/** Parsed arguments of `flink-artifacts run-application`. */
export interface RunApplicationArgs extends FlinkArgs, WiringArgs {
  jobUri?: string | undefined;
  dryRun?: boolean | undefined;
  podTemplateOut?: string | undefined;
}

/** Options of `run-application` only. */
export const RUN_APPLICATION_OPTIONS = {
  'dry-run': { type: 'boolean', default: false, describe: 'Print the flink command and the pod template instead of running; upload nothing' },
  'pod-template-out': { type: 'string', requiresArg: true, describe: 'Keep the rendered pod template in this file (also with --dry-run) [default: a temporary file, removed afterwards]' },
  check: { type: 'boolean', default: true, describe: 'Check first that every remote artifact exists (one HEAD each); --no-check skips it' },
} as const satisfies Record<string, Options>;

/** Our own options of `run-application`, for the Flink-syntax argv splitter. */
export const RUN_APPLICATION_OWN_OPTIONS = ownOptionSpecs(FLINK_OPTIONS, WIRING_OPTIONS, RUN_APPLICATION_OPTIONS);

export const runApplicationCommand = {
  command: 'run-application [job-uri]',
  describe: 'Upload (if kubernetes.artifacts.local-upload-enabled), render the JobManager pod template, submit with $FLINK_HOME/bin/flink',
  builder: (yargs: Argv): Argv<RunApplicationArgs> =>
    (withFlinkOptions(yargs).options({ ...WIRING_OPTIONS, ...RUN_APPLICATION_OPTIONS }) as unknown as Argv<RunApplicationArgs>)
      .positional('job-uri', { type: 'string', describe: 'The job jar [default: the single entry of pipeline.jars]' })
      .epilogue(
        'Syntax as bin/flink run: [OPTIONS] [JOB_URI] [PROGRAM ARGUMENTS]; everything after the jar (or after --) is the program\'s. ' +
          'Flink\'s run options (-c/--class, -p/--parallelism, -s/--fromSavepoint, -n/--allowNonRestoredState, -d, -C, -cm, -rm, -py...) are passed to bin/flink. ' +
          'Flink 1.20 and 2.x are submitted with `flink run --target kubernetes-application`, 1.19 and older with `flink run-application`.',
      )
      .example(
        '$0 run-application -Dkubernetes.cluster-id=my-app -Dkubernetes.artifacts.local-upload-enabled=true -Dkubernetes.artifacts.local-upload-target=s3://bucket/jobs/ --fetcher-image registry.example.com/flink-artifacts-fetcher:0.1.0 local:///tmp/job.jar --input s3://in',
        'the flow of Flink\'s docs in one step, with program arguments',
      ),
};

// Options this command sets itself; the user's values are replaced, not passed twice.
const REWRITTEN = new Set<string>([FlinkKeys.artifactList, FlinkKeys.pipelineJars, 'kubernetes.pod-template-file.jobmanager', FlinkKeys.localUploadEnabled]);

export async function runRunApplication(args: RunApplicationArgs, io: CliIo, secrets: string[]): Promise<number> {
  const dryRun = args.dryRun === true;
  const run = args.flinkRun ?? { own: [], flinkOptions: [], jobUri: undefined, programArgs: [], separated: false };
  let createdDir: string | undefined;
  try {
    const context = await loadFlinkContext(args, io, secrets, !dryRun);
    const { config } = context;
    const flinkOptions = withoutTarget(run.flinkOptions);
    const { jobUri: givenJobUri, programArgs } = jobAndArguments(run, config);
    const warnings = [...context.warnings, ...misplacedOptionWarnings(run, RUN_APPLICATION_OWN_OPTIONS.flatMap((spec) => spec.names))];
    for (const warning of warnings) io.stderr.write(`flink-artifacts: warning: ${warning}\n`);
    const uploadEnabled = parseFlinkBoolean(config.get(FlinkKeys.localUploadEnabled), FlinkKeys.localUploadEnabled, false);

    // 1. Before anything moves: every remote artifact that is not ours to upload must exist.
    if (args.check !== false) await checkArtifacts(config, givenJobUri, io);

    // 2. Upload local artifacts, as Flink's client would, but comparing and verifying.
    let effective = config;
    let jobUri = givenJobUri;
    if (uploadEnabled) {
      const target = readString(config, FlinkKeys.localUploadTarget);
      if (target?.startsWith('file:')) {
        io.stderr.write(`flink-artifacts: warning: ${FlinkKeys.localUploadTarget} ${target} is a directory on this machine: pods cannot read it unless it is a volume they mount\n`);
      }
      const progress = createProgress(io.stderr, uploadLine, (result) => result.uri);
      try {
        const report = await uploadArtifacts({ config, jobUri, dryRun, onEvent: progress.onEvent, ...(io.signal ? { signal: io.signal } : {}) });
        const next = new Map(config);
        next.delete(FlinkKeys.pipelineJars);
        if (report.artifactList.length > 0) next.set(FlinkKeys.artifactList, formatFlinkList(report.artifactList));
        effective = next;
        jobUri = report.jobUri ?? undefined;
      } finally {
        progress.finish();
      }
    }

    // 3. The JobManager pod template with the fetcher.
    const { renderPodTemplate } = await import('@flink-artifacts/deploy');
    const { manifest, wiring, warnings: renderWarnings } = renderPodTemplate(await renderOptionsFor(args, context, effective, jobUri, programArgs, io, ['jobmanager', 'default']));
    for (const warning of renderWarnings) io.stderr.write(`flink-artifacts: warning: ${warning}\n`);
    const yaml = toYaml(manifest);
    let templatePath: string | undefined;
    if (args.podTemplateOut !== undefined) {
      templatePath = resolve(io.cwd, args.podTemplateOut);
      await writeFileAtomic(templatePath, yaml);
    } else if (!dryRun) {
      createdDir = join(tmpdir(), `flink-artifacts-${wiring.location.clusterId}-${randomBytes(4).toString('hex')}`);
      templatePath = join(createdDir, 'jobmanager-pod-template.yaml');
      await mkdir(createdDir, { recursive: true });
      await writeFileAtomic(templatePath, yaml);
    }

    // 4. Flink's own client, with the user's options and ours, in the form its version takes.
    const flinkArgs = flinkCommandArgs({
      action: flinkRunAction(context.client.version),
      dynamicProperties: [
        ...dynamicProperties(args.D)
          .filter((entry) => {
            const key = entry.slice(0, entry.indexOf('=')).trim();
            // Our own options are the init container's (its arguments carry them); Flink has no use for them.
            return !REWRITTEN.has(key) && !key.startsWith('flink-artifacts.');
          })
          .map((entry) => `-D${entry}`),
        `-Dkubernetes.pod-template-file.jobmanager=${templatePath ?? '<the template below>'}`,
        ...(wiring.artifactList.length > 0 ? [`-D${FlinkKeys.artifactList}=${formatFlinkList(wiring.artifactList)}`] : []),
        // The upload is done: Flink must not try to upload the rewritten local:// paths.
        ...(uploadEnabled ? [`-D${FlinkKeys.localUploadEnabled}=false`] : []),
      ],
      flinkOptions,
      jobUri: wiring.jobUri,
      programArgs,
    });
    const flinkHome = context.flinkHome;
    const flink = flinkHome === undefined ? '$FLINK_HOME/bin/flink' : join(flinkHome, 'bin', 'flink');
    const confDir = args.confDir === undefined ? undefined : resolve(io.cwd, args.confDir);
    const commandLine = `${flinkHome === undefined ? flink : shellQuote(flink)} ${displayCommand(flinkArgs)}`;
    const out = io.dataOut ?? io.stdout;

    if (dryRun) {
      const header = templatePath === undefined ? '# <the template below> (not written: pass --pod-template-out FILE to keep it)' : `# ${templatePath}`;
      out.write(`${confDir === undefined ? '' : `FLINK_CONF_DIR=${shellQuote(confDir)} `}${commandLine}\n\n${header}\n${yaml}`);
      return ExitCode.ok;
    }
    if (flinkHome === undefined) throw new UsageError('FLINK_HOME is not set: run-application runs $FLINK_HOME/bin/flink');
    io.stderr.write(`flink-artifacts: running ${commandLine}\n`);
    return await runFlink(flink, flinkArgs, io, confDir);
  } catch (error) {
    if (error instanceof UploadFailedError && !io.signal?.aborted) {
      io.stderr.write(`flink-artifacts: upload failed, flink was not run: ${error.message}\n`);
      return ExitCode.failure;
    }
    printError(error, io, false);
    if (!io.signal?.aborted) io.stderr.write('flink-artifacts: flink was not run\n');
    return exitCodeFor(error, io.signal);
  } finally {
    if (createdDir !== undefined) await rm(createdDir, { recursive: true, force: true });
  }
}

/** Runs Flink's client, passing its output through; a signal to us is passed on to it. */
async function runFlink(flink: string, args: string[], io: CliIo, confDir: string | undefined): Promise<number> {
  return new Promise<number>((resolvePromise, reject) => {
    const child = spawn(flink, args, {
      cwd: io.cwd,
      env: { ...io.env, ...(confDir === undefined ? {} : { FLINK_CONF_DIR: confDir }) },
      stdio: ['inherit', 'pipe', 'pipe'],
    });
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => io.stdout.write(chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => io.stderr.write(chunk));
    const forward = (): void => void child.kill('SIGTERM');
    io.signal?.addEventListener('abort', forward, { once: true });
    child.once('error', (error) => {
      io.signal?.removeEventListener('abort', forward);
      reject(new UsageError(`cannot run ${flink}: ${(error as NodeJS.ErrnoException).code ?? error.message}`, { hint: 'check FLINK_HOME' }));
    });
    child.once('close', (code, signal) => {
      io.signal?.removeEventListener('abort', forward);
      resolvePromise(code ?? (signal === 'SIGINT' ? ExitCode.sigint : ExitCode.sigterm));
    });
  });
}
