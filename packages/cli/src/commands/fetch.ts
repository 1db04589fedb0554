import { DEFAULT_CONCURRENCY, FetchFailedError, fetchArtifacts, type FetchReport } from '@flink-artifacts/fetcher';
import type { Argv } from 'yargs';
import { ExitCode, exitCodeFor, printError } from '../exit.ts';
import { createFetchProgress } from '../progress.ts';
import { failuresOf, formatBytes } from '../format.ts';
import type { CliIo } from '../io.ts';
import { loadConfig, positiveInteger, withFlinkOptions, type FlinkArgs } from '../options.ts';

/** Parsed arguments of `flink-artifacts fetch`. */
export interface FetchArgs extends FlinkArgs {
  jobUri?: string | undefined;
  concurrency?: unknown;
  json?: boolean | undefined;
}

export const fetchCommand = {
  command: 'fetch [job-uri]',
  describe: 'Download the job jar and user.artifacts.artifact-list into <base-dir>/<namespace>/<cluster-id>/',
  builder: (yargs: Argv): Argv<FetchArgs> =>
    withFlinkOptions(yargs)
      .positional('job-uri', { type: 'string', describe: 'The job jar [default: the single entry of pipeline.jars]' })
      .option('concurrency', { type: 'number', default: DEFAULT_CONCURRENCY, requiresArg: true, describe: 'Transfers at once (1 to 256)' })
      .option('json', { type: 'boolean', default: false, describe: 'Print the report as one JSON document' })
      .example('$0 fetch s3://bucket/job.jar -Dkubernetes.cluster-id=my-app', 'fetch a job jar into /opt/flink/artifacts/default/my-app/')
      .example('$0 fetch --conf-dir /opt/flink/conf --json', 'everything from Flink\'s config, a JSON report'),
};

/**
 * The JSON form of a report, in the vocabulary `upload` uses too: the files Flink gets (only
 * those in place), a count per outcome, the failures (always a list), then one entry per
 * artifact with its status.
 */
export function reportJson(report: FetchReport): Record<string, unknown> {
  return {
    jobJar: report.jobJar,
    artifacts: report.artifacts,
    fetched: report.fetched,
    reused: report.reused,
    local: report.local,
    bytes: report.bytes,
    failed: failuresOf(report.items),
    targetDir: report.targetDir,
    items: report.items,
  };
}

function summary(report: FetchReport): string {
  const failed = report.items.filter((item) => item.status === 'failed').length;
  const local = report.items.filter((item) => item.status === 'local').length;
  const parts = [`${report.fetched} fetched (${formatBytes(report.bytes)})`, `${report.reused} reused`];
  if (local > 0) parts.push(`${local} local`);
  if (failed > 0) parts.push(`${failed} FAILED`);
  const lines = [`${parts.join(', ')} in ${report.targetDir}`];
  if (report.jobJar !== null) lines.push(`job jar:   ${report.jobJar}`);
  for (const artifact of report.artifacts) lines.push(`artifact:  ${artifact}`);
  return `${lines.join('\n')}\n`;
}

export async function runFetch(args: FetchArgs, io: CliIo, secrets: string[]): Promise<number> {
  const json = args.json === true;
  try {
    const concurrency = positiveInteger(args.concurrency ?? DEFAULT_CONCURRENCY, 'concurrency', 256);
    const config = await loadConfig(args, io, secrets);
    const progress = createFetchProgress(io.stderr);
    let report: FetchReport;
    try {
      report = await fetchArtifacts({
        config,
        jobUri: args.jobUri,
        concurrency,
        cwd: io.cwd,
        onEvent: progress.onEvent,
        ...(io.signal ? { signal: io.signal } : {}),
      });
    } finally {
      progress.finish();
    }
    io.stdout.write(json ? `${JSON.stringify(reportJson(report))}\n` : summary(report));
    return ExitCode.ok;
  } catch (error) {
    if (error instanceof FetchFailedError && !io.signal?.aborted) {
      io.stdout.write(json ? `${JSON.stringify(reportJson(error.report))}\n` : summary(error.report));
      io.stderr.write(`flink-artifacts: ${error.message}\n`);
      return ExitCode.failure;
    }
    printError(error, io, json);
    return exitCodeFor(error, io.signal);
  }
}
