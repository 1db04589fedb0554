import { redactSecrets } from '@flink-artifacts/core';

/** A stream the CLI writes to. */
export interface OutputStream {
  write(text: string): unknown;
  /** True when a person is watching: progress bars instead of log lines. */
  readonly isTTY?: boolean | undefined;
  /** Terminal width, when a TTY. */
  readonly columns?: number | undefined;
}

/** Everything the CLI touches outside itself, injectable so tests run it in-process. */
export interface CliIo {
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** Aborted on SIGINT/SIGTERM; its reason is the signal name. */
  readonly signal?: AbortSignal;
  /**
   * stdout without the last-line-of-defence masking, for data the user asked for whose secrets
   * were kept out or masked from what was parsed (manifests, command lines): masking by
   * substring there would corrupt it. @default stdout
   */
  readonly dataOut?: OutputStream;
}

/**
 * A stream that masks the given secret values before writing: the last line of defence, in
 * case a server or SDK echoes a credential into an error message.
 */
export function redactingStream(stream: OutputStream, secrets: () => readonly string[]): OutputStream {
  return {
    write: (text: string) => stream.write(redactSecrets(text, secrets())),
    isTTY: stream.isTTY,
    columns: stream.columns,
  };
}
