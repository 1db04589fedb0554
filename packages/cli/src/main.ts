import yargs, { type Arguments } from 'yargs';
import { normalizeArgv } from './argv.ts';
import { fetchCommand, runFetch, type FetchArgs } from './commands/fetch.ts';
import { runUpload, uploadCommand, type UploadArgs } from './commands/upload.ts';
import { ExitCode } from './exit.ts';
import { redactingStream, type CliIo } from './io.ts';

export type { CliIo, OutputStream } from './io.ts';
export { ExitCode } from './exit.ts';

/** The package version, shown by --version. */
export const VERSION = '0.1.0';

/**
 * Runs the `flink-artifacts` command line. Never exits the process and never touches globals:
 * everything goes through `io`, so tests run it in-process.
 *
 * @returns the exit code: 0 ok, 1 runtime failure, 2 usage or config error, 130/143 on signals.
 */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const secrets: string[] = [];
  const safeIo: CliIo = {
    ...io,
    stdout: redactingStream(io.stdout, () => secrets),
    stderr: redactingStream(io.stderr, () => secrets),
  };

  const parser = yargs()
    .scriptName('flink-artifacts')
    .usage('$0 <command> [options]\n\nGets a Flink job\'s artifacts into the JobManager pod. Options are Flink\'s own keys (-Dkey=value).')
    .command(fetchCommand.command, fetchCommand.describe, fetchCommand.builder)
    .command(uploadCommand.command, uploadCommand.describe, uploadCommand.builder)
    .demandCommand(1, 'Give a command.')
    .recommendCommands()
    .strict()
    .help()
    .alias('h', 'help')
    .version(VERSION)
    .env(false)
    .exitProcess(false)
    .wrap(Math.min(110, io.stdout.columns ?? 100));

  let output = '';
  let parseError: Error | undefined;
  let parsed: Arguments;
  try {
    parsed = await parser.parseAsync(normalizeArgv(argv), {}, (error: Error | undefined, _argv: unknown, text: string) => {
      output = text;
      parseError = error ?? undefined;
    });
  } catch (error) {
    parseError = error instanceof Error ? error : new Error(String(error));
    parsed = { _: [], $0: 'flink-artifacts' };
  }
  if (parseError !== undefined) {
    safeIo.stderr.write(output ? `${output}\n` : `flink-artifacts: ${parseError.message}\n`);
    return ExitCode.usage;
  }
  if (output !== '') {
    // --help or --version
    safeIo.stdout.write(`${output}\n`);
    return ExitCode.ok;
  }

  switch (parsed._[0]) {
    case 'fetch':
      return runFetch(parsed as unknown as FetchArgs, safeIo, secrets);
    case 'upload':
      return runUpload(parsed as unknown as UploadArgs, safeIo, secrets);
    default:
      safeIo.stderr.write(`flink-artifacts: unknown command ${String(parsed._[0])}\n`);
      return ExitCode.usage;
  }
}
