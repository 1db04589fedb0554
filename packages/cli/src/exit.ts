import { AbortedError, describeError, isFlinkArtifactsError } from '@flink-artifacts/core';
import type { CliIo } from './io.ts';

/** Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error, 128+n on signal n. */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  sigint: 130,
  sigterm: 143,
} as const;

/** The exit code for an error, given the signal that may have caused it. */
export function exitCodeFor(error: unknown, signal: AbortSignal | undefined): number {
  if (signal?.aborted || error instanceof AbortedError || (isFlinkArtifactsError(error) && error.code === 'ERR_ABORTED')) {
    return signal?.reason === 'SIGINT' ? ExitCode.sigint : ExitCode.sigterm;
  }
  if (isFlinkArtifactsError(error) && error.kind === 'usage') return ExitCode.usage;
  return ExitCode.failure;
}

/**
 * Prints an error: to stderr as `flink-artifacts: <message>` plus its hint, and with --json also
 * as a JSON document on stdout, so scripts always get something to parse.
 */
export function printError(error: unknown, io: CliIo, json: boolean): void {
  const code = isFlinkArtifactsError(error) ? error.code : 'ERR_INTERNAL';
  const message = isFlinkArtifactsError(error) ? error.message : describeError(error);
  io.stderr.write(`flink-artifacts: ${message}\n`);
  if (isFlinkArtifactsError(error) && error.hint) io.stderr.write(`  hint: ${error.hint}\n`);
  if (json) io.stdout.write(`${JSON.stringify({ error: { code, message } })}\n`);
}
