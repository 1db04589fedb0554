import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { UploadFailedError, uploadArtifacts } from '@flink-artifacts/client';
import { FlinkKeys, UsageError, formatFlinkList, parseFlinkBoolean } from '@flink-artifacts/core';
import type { Argv } from 'yargs';
import { dynamicProperties } from '../argv.ts';
import { ExitCode, exitCodeFor, printError } from '../exit.ts';
import type { CliIo } from '../io.ts';
import { toYaml, writeFileAtomic } from '../manifest-io.ts';
import { loadConfig, withFlinkOptions, type FlinkArgs } from '../options.ts';
import { createProgress } from '../progress.ts';
import { shellQuote } from '../shell.ts';
import { renderOptionsFor, withWiringOptions, type WiringArgs } from './render.ts';
import { uploadLine } from './upload.ts';

/** Parsed arguments of `flink-artifacts run-application`. */
export interface RunApplicationArgs extends FlinkArgs, WiringArgs {
  jobUri?: string | undefined;
  dryRun?: boolean | undefined;
  podTemplateOut?: string | undefined;
}

export const runApplicationCommand = {
  command: 'run-application [job-uri]',
  describe: 'Upload (if kubernetes.artifacts.local-upload-enabled), render the JobManager pod template, run flink run-application',
  builder: (yargs: Argv): Argv<RunApplicationArgs> =>
    withWiringOptions(withFlinkOptions(yargs))
      .positional('job-uri', { type: 'string', describe: 'The job jar [default: the single entry of pipeline.jars]' })
      .option('dry-run', { type: 'boolean', default: false, describe: 'Print the flink command and the pod template instead of running; upload nothing' })
      .option('pod-template-out', { type: 'string', requiresArg: true, describe: 'Keep the rendered pod template in this file [default: a temporary file, removed afterwards]' })
      .example('$0 run-application local:///tmp/job.jar -Dkubernetes.cluster-id=my-app -Dkubernetes.artifacts.local-upload-enabled=true -Dkubernetes.artifacts.local-upload-target=s3://bucket/jobs/', 'the flow of Flink\'s docs in one step'),
};

// Options this command sets itself; the user's values are replaced, not passed twice.
const REWRITTEN = new Set<string>([FlinkKeys.artifactList, FlinkKeys.pipelineJars, 'kubernetes.pod-template-file.jobmanager', FlinkKeys.localUploadEnabled]);

export async function runRunApplication(args: RunApplicationArgs, io: CliIo, secrets: string[]): Promise<number> {
  const dryRun = args.dryRun === true;
  let createdDir: string | undefined;
  try {
    const config = await loadConfig(args, io, secrets);
    const uploadEnabled = parseFlinkBoolean(config.get(FlinkKeys.localUploadEnabled), FlinkKeys.localUploadEnabled, false);

    // 1. Upload local artifacts, as Flink's client would, but comparing and verifying.
    let effective = config;
    let jobUri = args.jobUri;
    if (uploadEnabled) {
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

    // 2. The JobManager pod template with the fetcher.
    const { renderPodTemplate } = await import('@flink-artifacts/deploy');
    const { manifest, wiring } = renderPodTemplate(await renderOptionsFor({ ...args, jobUri }, effective, io));
    for (const warning of wiring.warnings) io.stderr.write(`flink-artifacts: warning: ${warning}\n`);
    const yaml = toYaml(manifest);
    let templatePath: string;
    if (args.podTemplateOut !== undefined) {
      templatePath = resolve(io.cwd, args.podTemplateOut);
    } else {
      createdDir = join(tmpdir(), `flink-artifacts-${wiring.location.clusterId}-${randomBytes(4).toString('hex')}`);
      templatePath = join(createdDir, 'jobmanager-pod-template.yaml');
    }

    // 3. Flink's own client, with the user's options and ours.
    const flinkHome = io.env.FLINK_HOME;
    const flink = flinkHome ? join(flinkHome, 'bin', 'flink') : '$FLINK_HOME/bin/flink';
    const flinkArgs = [
      'run-application',
      '--target',
      'kubernetes-application',
      ...dynamicProperties(args.D)
        .filter((entry) => !REWRITTEN.has(entry.slice(0, entry.indexOf('=')).trim()))
        .map((entry) => `-D${entry}`),
      `-Dkubernetes.pod-template-file.jobmanager=${templatePath}`,
      ...(wiring.artifactList.length > 0 ? [`-D${FlinkKeys.artifactList}=${formatFlinkList(wiring.artifactList)}`] : []),
      // The upload is done: Flink must not try to upload the rewritten local:// paths.
      ...(uploadEnabled ? [`-D${FlinkKeys.localUploadEnabled}=false`] : []),
      ...(wiring.jobUri === null ? [] : [wiring.jobUri]),
    ];
    const commandLine = [flink, ...flinkArgs].map((word) => (word === flink && !flinkHome ? word : shellQuote(word))).join(' ');

    if (dryRun) {
      io.stdout.write(`${args.confDir === undefined ? '' : `FLINK_CONF_DIR=${shellQuote(resolve(io.cwd, args.confDir))} `}${commandLine}\n\n# ${templatePath}\n${yaml}`);
      return ExitCode.ok;
    }
    if (!flinkHome) throw new UsageError('FLINK_HOME is not set: run-application runs $FLINK_HOME/bin/flink', { hint: 'point FLINK_HOME at a Flink distribution, or use --dry-run' });

    await mkdir(dirname(templatePath), { recursive: true });
    await writeFileAtomic(templatePath, yaml);
    io.stderr.write(`flink-artifacts: running ${commandLine}\n`);
    return await runFlink(flink, flinkArgs, io, args.confDir === undefined ? undefined : resolve(io.cwd, args.confDir));
  } catch (error) {
    if (error instanceof UploadFailedError && !io.signal?.aborted) {
      io.stderr.write(`flink-artifacts: upload failed, flink was not run: ${error.message}\n`);
      return ExitCode.failure;
    }
    printError(error, io, false);
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
