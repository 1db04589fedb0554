import {
  DEFAULT_UPLOAD_CONCURRENCY,
  UploadFailedError,
  uploadArtifacts,
  type UploadItemResult,
  type UploadReport,
} from '@flink-artifacts/client';
import { FlinkKeys, formatFlinkList } from '@flink-artifacts/core';
import type { Argv } from 'yargs';
import { ExitCode, exitCodeFor, printError } from '../exit.ts';
import { failuresOf, formatBytes, formatDuration } from '../format.ts';
import type { CliIo } from '../io.ts';
import { loadConfig, positiveInteger, withFlinkOptions, type FlinkArgs } from '../options.ts';
import { createProgress } from '../progress.ts';
import { shellQuote } from '../shell.ts';

/** Parsed arguments of `flink-artifacts upload`. */
export interface UploadArgs extends FlinkArgs {
  jobUri?: string | undefined;
  concurrency?: unknown;
  dryRun?: boolean | undefined;
  json?: boolean | undefined;
}

export const uploadCommand = {
  command: 'upload [job-uri]',
  describe: 'Upload local:// artifacts to kubernetes.artifacts.local-upload-target and print the rewritten options',
  builder: (yargs: Argv): Argv<UploadArgs> =>
    withFlinkOptions(yargs)
      .positional('job-uri', { type: 'string', describe: 'The job jar [default: the single entry of pipeline.jars]' })
      .option('concurrency', { type: 'number', default: DEFAULT_UPLOAD_CONCURRENCY, requiresArg: true, describe: 'Uploads at once (1 to 256)' })
      .option('dry-run', { type: 'boolean', default: false, describe: 'Say what would be uploaded, skipped or refused; write nothing' })
      .option('json', { type: 'boolean', default: false, describe: 'Print the report as one JSON document' })
      .example('$0 upload local:///tmp/job.jar -Dkubernetes.artifacts.local-upload-target=s3://bucket/jobs/', 'upload a jar, print -Dpipeline.jars=s3://bucket/jobs/job.jar'),
};

/**
 * The JSON form of a report, in the vocabulary `fetch` uses too: what Flink gets, a count per
 * outcome, the failures (always a list), then one entry per artifact with its status.
 */
export function uploadReportJson(report: UploadReport): Record<string, unknown> {
  return {
    jobUri: report.jobUri,
    artifactList: report.artifactList,
    uploaded: report.uploaded,
    skipped: report.skipped,
    passed: report.passed,
    ...(report.dryRun ? { wouldUpload: report.wouldUpload, wouldSkip: report.wouldSkip } : {}),
    bytes: report.bytes,
    // `uri` is the remote object, as in fetch's report (there the source, here the destination);
    // `source` names the local file too.
    failed: report.items.flatMap((item) => (item.status === 'failed' ? failuresOf([item]).map((failure) => ({ ...failure, source: item.source })) : [])),
    dryRun: report.dryRun,
    items: report.items,
  };
}

/** The log line for one finished artifact. */
export function uploadLine(result: UploadItemResult, elapsedMs: number | undefined): string {
  const status = result.status.padEnd(8);
  const reason = result.reason ? ` (${result.reason})` : '';
  switch (result.status) {
    case 'uploaded':
      return `${status} ${result.source} -> ${result.uri} (${formatBytes(result.bytes)}${elapsedMs === undefined ? '' : ` in ${formatDuration(elapsedMs)}`})${result.reason ? `, ${result.reason}` : ''}`;
    case 'skipped':
    case 'would-skip':
    case 'would-upload':
      return `${status} ${result.source} -> ${result.uri}${reason}`;
    case 'passed':
      return `${status} ${result.source} (not local, unchanged)`;
    case 'failed':
      return `${status} ${result.error?.message ?? `${result.source}: unknown error`}`;
  }
}

/** The rewritten options as lines a user can paste after `flink run-application`. */
export function pasteLines(report: UploadReport): string {
  const lines: string[] = [];
  if (report.jobUri !== null) lines.push(shellQuote(`-D${FlinkKeys.pipelineJars}=${report.jobUri}`));
  if (report.artifactList.length > 0) lines.push(shellQuote(`-D${FlinkKeys.artifactList}=${formatFlinkList(report.artifactList)}`));
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

function summary(report: UploadReport): string {
  const count = (status: UploadItemResult['status']): number => report.items.filter((item) => item.status === status).length;
  const parts = report.dryRun
    ? [`dry run: ${count('would-upload')} would be uploaded`, `${count('would-skip')} skipped`]
    : [`${count('uploaded')} uploaded (${formatBytes(report.bytes)})`, `${count('skipped')} skipped`];
  parts.push(`${count('passed')} not local`);
  if (count('failed') > 0) parts.push(`${count('failed')} FAILED`);
  return `${parts.join(', ')}\n`;
}

export async function runUpload(args: UploadArgs, io: CliIo, secrets: string[]): Promise<number> {
  const json = args.json === true;
  try {
    const concurrency = positiveInteger(args.concurrency ?? DEFAULT_UPLOAD_CONCURRENCY, 'concurrency', 256);
    const config = await loadConfig(args, io, secrets);
    const progress = createProgress(io.stderr, uploadLine, (result) => result.uri);
    let report: UploadReport;
    try {
      report = await uploadArtifacts({
        config,
        jobUri: args.jobUri,
        concurrency,
        dryRun: args.dryRun === true,
        onEvent: progress.onEvent,
        ...(io.signal ? { signal: io.signal } : {}),
      });
    } finally {
      progress.finish();
    }
    io.stderr.write(summary(report));
    io.stdout.write(json ? `${JSON.stringify(uploadReportJson(report))}\n` : pasteLines(report));
    return ExitCode.ok;
  } catch (error) {
    if (error instanceof UploadFailedError && !io.signal?.aborted) {
      io.stderr.write(summary(error.report));
      if (json) io.stdout.write(`${JSON.stringify(uploadReportJson(error.report))}\n`);
      io.stderr.write(`flink-artifacts: ${error.message}\n`);
      return ExitCode.failure;
    }
    printError(error, io, json);
    return exitCodeFor(error, io.signal);
  }
}
