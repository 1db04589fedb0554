import type { TransferEvent } from '@flink-artifacts/core';
import type { ArtifactResult } from '@flink-artifacts/fetcher';
import { formatBytes, formatDuration } from './format.ts';
import type { OutputStream } from './io.ts';

/** The log line of a retry: what failed, which attempt, when the next one starts. */
export function retryLine(event: Extract<TransferEvent<unknown>, { type: 'retry' }>): string {
  return `${'retry'.padEnd(7)} attempt ${event.attempt} of ${event.maxAttempts} failed, next in ${formatDuration(event.delayMs)}: ${event.reason}`;
}

/** Renders transfer events: one line per finished artifact, plus a live bar on a terminal. */
export interface Progress<R> {
  readonly onEvent: (event: TransferEvent<R>) => void;
  /** Removes the bar. Call once, before printing the summary. */
  finish(): void;
}

const BAR_WIDTH = 24;
const REDRAW_MS = 100;

/** The log line for one finished artifact (init container logs, and above the bar on a TTY). */
export function artifactLine(result: ArtifactResult, elapsedMs: number | undefined): string {
  const status = result.status.padEnd(7);
  switch (result.status) {
    case 'fetched':
      return `${status} ${result.uri} -> ${result.path} (${formatBytes(result.bytes)}${elapsedMs === undefined ? '' : ` in ${formatDuration(elapsedMs)}`})`;
    case 'reused':
      return `${status} ${result.uri} -> ${result.path} (unchanged, kept)`;
    case 'local':
      return `${status} ${result.uri} (in the image, not copied)`;
    case 'failed':
      // Error messages name the URI themselves.
      return `${status} ${result.error?.message ?? `${result.uri}: unknown error`}`;
  }
}

/**
 * @param lineFor the log line of a finished artifact, given how long it took (if it started).
 * @param keyOf the URI under which its `start` event was reported.
 */
/** Back to the line's start and erase it: where the bar is redrawn. */
const CLEAR_LINE = '\r\u001b[2K';

/** Our own terminal sequences pass as they are; text goes through `write`, which escapes controls. */
function control(stream: OutputStream, sequence: string): void {
  if (stream.control !== undefined) stream.control(sequence);
  else stream.write(sequence);
}

export function createProgress<R>(
  stream: OutputStream,
  lineFor: (result: R, elapsedMs: number | undefined) => string,
  keyOf: (result: R) => string,
  now: () => number = () => performance.now(),
): Progress<R> {
  const tty = stream.isTTY === true;
  const started = new Map<string, number>();
  const sizes = new Map<string, number>();
  const startedAt = now();
  let total = 0;
  let done = 0;
  let bytes = 0;
  let lastDraw = 0;
  let barShown = false;

  const clearBar = (): void => {
    if (barShown) control(stream, CLEAR_LINE);
    barShown = false;
  };
  const drawBar = (force: boolean): void => {
    const t = now();
    if (!force && t - lastDraw < REDRAW_MS) return;
    lastDraw = t;
    const knownTotal = [...sizes.values()].reduce((sum, size) => sum + size, 0);
    const fraction = total === 0 ? 1 : Math.min(1, (done + (knownTotal > 0 ? Math.min(1, bytes / knownTotal) * 0.999 : 0)) / (total + 0.0001));
    const filled = Math.round(fraction * BAR_WIDTH);
    const rate = bytes / Math.max(0.001, (t - startedAt) / 1000);
    const text = `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${done}/${total} files  ${formatBytes(bytes)}  ${formatBytes(rate)}/s`;
    control(stream, CLEAR_LINE);
    stream.write(text.slice(0, Math.max(20, (stream.columns ?? 80) - 1)));
    barShown = true;
  };

  return {
    onEvent(event) {
      switch (event.type) {
        case 'planned':
          total = event.total;
          break;
        case 'start':
          started.set(event.uri, now());
          if (event.size !== undefined) sizes.set(event.uri, event.size);
          break;
        case 'progress':
          bytes += event.bytes;
          if (tty) drawBar(false);
          break;
        case 'retry':
          if (tty) clearBar();
          stream.write(`${retryLine(event)}\n`);
          if (tty) drawBar(true);
          break;
        case 'done': {
          done++;
          const begin = started.get(keyOf(event.result));
          const line = lineFor(event.result, begin === undefined ? undefined : now() - begin);
          if (tty) clearBar();
          stream.write(`${line}\n`);
          if (tty && done < total) drawBar(true);
          break;
        }
      }
    },
    finish() {
      if (tty) clearBar();
    },
  };
}

/** Progress of a fetch. */
export function createFetchProgress(stream: OutputStream, now?: () => number): Progress<ArtifactResult> {
  return createProgress(stream, artifactLine, (result) => result.uri, now);
}
