import { printable, redactSecrets } from '@flink-artifacts/core';

/** A stream the CLI writes to. */
export interface OutputStream {
  write(text: string): unknown;
  /** True when a person is watching: progress bars instead of log lines. */
  readonly isTTY?: boolean | undefined;
  /** Terminal width, when a TTY. */
  readonly columns?: number | undefined;
  /** Writes our own terminal control sequence (the progress bar's), which `write` would escape. */
  control?(sequence: string): unknown;
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
 * case a server or SDK echoes a credential into an error message. It also writes control
 * characters as visible escapes: text from outside (a status line, a URI) cannot drive the
 * terminal. Our own sequences go through `control`.
 */
export function redactingStream(stream: OutputStream, secrets: () => readonly string[]): OutputStream {
  return {
    write: (text: string) => stream.write(printable(redactSecrets(text, secrets()))),
    control: (sequence: string) => stream.write(sequence),
    isTTY: stream.isTTY,
    columns: stream.columns,
  };
}
