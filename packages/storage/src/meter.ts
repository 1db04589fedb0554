import { Transform, pipeline, type Readable } from 'node:stream';

/** A pass-through stream that reports each chunk's size: progress without a second copy. */
export function byteMeter(onBytes: ((bytes: number) => void) | undefined): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      onBytes?.(chunk.length);
      callback(null, chunk);
    },
  });
}

/** The Content-Type for an artifact: jars are Java archives, the rest opaque bytes. */
export function contentTypeFor(name: string): string {
  if (name.endsWith('.jar')) return 'application/java-archive';
  if (name.endsWith('.py')) return 'text/x-python';
  if (name.endsWith('.zip')) return 'application/zip';
  return 'application/octet-stream';
}

/**
 * A request body for an SDK that pipes it: `source` through a {@link byteMeter}, with source
 * errors (a failed disk read) reported to `onError` instead of becoming an uncaught 'error'
 * event while the request waits for bytes that never come. The caller aborts the request there.
 */
export function guardedBody(source: Readable, onBytes: ((bytes: number) => void) | undefined, onError: (error: Error) => void): Readable {
  return pipeline(source, byteMeter(onBytes), (error) => {
    if (error) onError(error);
  });
}
