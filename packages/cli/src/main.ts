import yargs, { type Arguments } from 'yargs';
import { normalizeArgv, strayArgvSecrets } from './argv.ts';
import { fetchCommand, runFetch, type FetchArgs } from './commands/fetch.ts';
import { RENDER_OWN_OPTIONS, renderCommand, runRender, type RenderArgs } from './commands/render.ts';
import { RUN_APPLICATION_OWN_OPTIONS, runApplicationCommand, runRunApplication, type RunApplicationArgs } from './commands/run-application.ts';
import { runUpload, uploadCommand, type UploadArgs } from './commands/upload.ts';
import { describeError } from '@flink-artifacts/core';
import { ExitCode } from './exit.ts';
import { splitFlinkRunArgv, type FlinkRunCommandLine } from './flink-run-argv.ts';
import { redactingStream, type CliIo } from './io.ts';
import { VERSION } from './version.ts';

export type { CliIo, OutputStream } from './io.ts';
export { ExitCode } from './exit.ts';

export { VERSION } from './version.ts';

/**
 * Parsed options by name (yargs' camel-cased keys plus `_`), and for `render`/`run-application`
 * the Flink-syntax part (`flinkRun`). Typed here, not as yargs' own type, so that the package's
 * declarations need no yargs types.
 */
export type ParsedArguments = { readonly [name: string]: unknown };

/** What the command line asks for: a command with its arguments, or text to print (help, version, usage error). */
export type ParsedCommandLine =
  | { readonly kind: 'command'; readonly command: string; readonly args: ParsedArguments }
  | { readonly kind: 'output'; readonly text: string; readonly exitCode: number; readonly error?: string | undefined };

/**
 * Parses a command line with the same parser `main` uses. Exported so that what other code
 * generates (the init container's arguments) can be checked against the real parser.
 */
export async function parseCommandLine(argv: readonly string[], columns = 100): Promise<ParsedCommandLine> {
  const parser = yargs()
    .scriptName('flink-artifacts')
    .usage('$0 <command> [options]\n\nGets a Flink job\'s artifacts into the JobManager pod. Options are Flink\'s own keys (-Dkey=value).')
    .command(fetchCommand.command, fetchCommand.describe, fetchCommand.builder)
    .command(uploadCommand.command, uploadCommand.describe, uploadCommand.builder)
    .command(renderCommand.command, renderCommand.describe, renderCommand.builder)
    .command(runApplicationCommand.command, runApplicationCommand.describe, runApplicationCommand.builder)
    .demandCommand(1, 'Give a command.')
    .recommendCommands()
    .strict()
    .help()
    .alias('h', 'help')
    .version(VERSION)
    .env(false)
    .exitProcess(false)
    .wrap(Math.min(110, columns));

  // render and run-application read their command line as bin/flink does: options, the jar,
  // then the program's arguments, which yargs must never see.
  const ownOptions = argv[0] === 'render' ? RENDER_OWN_OPTIONS : argv[0] === 'run-application' ? RUN_APPLICATION_OWN_OPTIONS : undefined;
  let flinkRun: FlinkRunCommandLine | undefined;
  if (ownOptions !== undefined) {
    try {
      flinkRun = splitFlinkRunArgv(argv.slice(1), ownOptions);
    } catch (error) {
      return { kind: 'output', text: `flink-artifacts: ${describeError(error)}\n`, exitCode: ExitCode.usage, error: describeError(error) };
    }
  }
  const toParse = flinkRun === undefined ? normalizeArgv(argv) : [argv[0]!, ...flinkRun.own, ...(flinkRun.jobUri === undefined ? [] : [flinkRun.jobUri])];

  let output = '';
  let parseError: Error | undefined;
  let parsed: Arguments;
  try {
    parsed = await parser.parseAsync(toParse, {}, (error: Error | undefined, _argv: unknown, text: string) => {
      output = text;
      parseError = error ?? undefined;
    });
  } catch (error) {
    parseError = error instanceof Error ? error : new Error(String(error));
    parsed = { _: [], $0: 'flink-artifacts' };
  }
  if (parseError !== undefined) {
    return { kind: 'output', text: output ? `${output}\n` : `flink-artifacts: ${parseError.message}\n`, exitCode: ExitCode.usage, error: parseError.message };
  }
  // --help or --version
  if (output !== '') return { kind: 'output', text: `${output}\n`, exitCode: ExitCode.ok };
  return { kind: 'command', command: String(parsed._[0]), args: flinkRun === undefined ? parsed : { ...parsed, flinkRun } };
}

/** `--json` among the options (before a `--` that starts the program's arguments). */
function asksForJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).some((arg) => arg === '--json' || arg === '--json=true');
}

/**
 * Runs the `flink-artifacts` command line. Never exits the process and never touches globals:
 * everything goes through `io`, so tests run it in-process.
 *
 * @returns the exit code: 0 ok, 1 runtime failure, 2 usage or config error, 130/143 on signals.
 */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const secrets: string[] = strayArgvSecrets(argv);
  const safeIo: CliIo = {
    ...io,
    dataOut: io.dataOut ?? io.stdout,
    stdout: redactingStream(io.stdout, () => secrets),
    stderr: redactingStream(io.stderr, () => secrets),
  };
  const parsed = await parseCommandLine(argv, io.stdout.columns ?? 100);
  if (parsed.kind === 'output') {
    (parsed.exitCode === ExitCode.ok ? safeIo.stdout : safeIo.stderr).write(parsed.text);
    // In --json mode every error is also one JSON document on stdout, usage errors included.
    if (parsed.error !== undefined && asksForJson(argv)) safeIo.stdout.write(`${JSON.stringify({ error: { code: 'ERR_USAGE', message: parsed.error } })}\n`);
    return parsed.exitCode;
  }
  switch (parsed.command) {
    case 'fetch':
      return runFetch(parsed.args as unknown as FetchArgs, safeIo, secrets);
    case 'upload':
      return runUpload(parsed.args as unknown as UploadArgs, safeIo, secrets);
    case 'render':
      return runRender(parsed.args as unknown as RenderArgs, safeIo, secrets);
    case 'run-application':
      return runRunApplication(parsed.args as unknown as RunApplicationArgs, safeIo, secrets);
    default:
      safeIo.stderr.write(`flink-artifacts: unknown command ${parsed.command}\n`);
      return ExitCode.usage;
  }
}
