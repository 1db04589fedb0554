import { Worker } from 'node:worker_threads';
import { createChecksumAccumulator, type ChecksumAlgorithm, type Checksums } from '@flink-artifacts/core';

/** Running checksums over a stream of chunks, whose digest may take a moment. */
export interface ChecksumJob {
  update(chunk: Buffer): void;
  digest(): Promise<Checksums>;
  /** Ends the job without a digest (the transfer failed). */
  close(): void;
}

/**
 * Below this size a transfer hashes on the main thread. Measured (bench/RESULTS.md): for many
 * small files the worker only adds copies and memory (the CPU is busy anyway); for large ones
 * it takes MD5 off the path of the bytes (S3, 1 GiB: 3.8 s -> 2.8 s).
 */
export const WORKER_HASHING_THRESHOLD = 32 * 1024 * 1024;
const BATCH_BYTES = 1024 * 1024;

// Created from source, so that the single-file bundle needs no second file.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const jobs = new Map();
parentPort.on('message', ({ id, op, algorithms, buffer }) => {
  if (op === 'start') jobs.set(id, algorithms.map((algorithm) => [algorithm, createHash(algorithm)]));
  else if (op === 'data') for (const [, hash] of jobs.get(id)) hash.update(new Uint8Array(buffer));
  else if (op === 'close') jobs.delete(id);
  else if (op === 'digest') {
    const hashes = jobs.get(id);
    jobs.delete(id);
    parentPort.postMessage({ id, checksums: Object.fromEntries(hashes.map(([algorithm, hash]) => [algorithm, hash.digest('hex')])) });
  }
});
`;

/**
 * One worker thread shared by every transfer of the process, hashing MD5 and SHA-256 while the
 * main thread receives and writes (MD5 runs at ~750 MB/s here: on the main thread it would add
 * to every transfer's time). Chunks are copied to it in 1 MiB batches. The worker keeps the
 * process alive only while a digest is awaited.
 */
class HashWorker {
  #worker: Worker | undefined;
  #nextId = 1;
  #waiting = new Map<number, { resolve: (checksums: Checksums) => void; reject: (error: Error) => void }>();

  #get(): Worker {
    if (this.#worker === undefined) {
      const worker = new Worker(WORKER_SOURCE, { eval: true });
      worker.unref();
      worker.on('message', ({ id, checksums }: { id: number; checksums: Checksums }) => {
        this.#waiting.get(id)?.resolve(checksums);
        this.#waiting.delete(id);
        if (this.#waiting.size === 0) worker.unref();
      });
      worker.on('error', (error) => {
        for (const waiter of this.#waiting.values()) waiter.reject(error);
        this.#waiting.clear();
        this.#worker = undefined;
      });
      this.#worker = worker;
    }
    return this.#worker;
  }

  job(algorithms: readonly ChecksumAlgorithm[]): ChecksumJob {
    const worker = this.#get();
    const id = this.#nextId++;
    worker.postMessage({ id, op: 'start', algorithms });
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = (): void => {
      if (pendingBytes === 0) return;
      const batch = Buffer.concat(pending, pendingBytes);
      // Transferred, not copied again: a batch of this size has its own ArrayBuffer.
      const whole = batch.byteOffset === 0 && batch.byteLength === batch.buffer.byteLength;
      const buffer = whole ? batch.buffer : batch.buffer.slice(batch.byteOffset, batch.byteOffset + batch.byteLength);
      worker.postMessage({ id, op: 'data', buffer }, [buffer]);
      pending = [];
      pendingBytes = 0;
    };
    return {
      update(chunk) {
        pending.push(chunk);
        pendingBytes += chunk.length;
        if (pendingBytes >= BATCH_BYTES) flush();
      },
      digest: () => {
        flush();
        return new Promise<Checksums>((resolve, reject) => {
          this.#waiting.set(id, { resolve, reject });
          worker.ref();
          worker.postMessage({ id, op: 'digest' });
        });
      },
      close() {
        pending = [];
        worker.postMessage({ id, op: 'close' });
      },
    };
  }
}

let shared: HashWorker | undefined;

/**
 * A checksum job for a transfer of about `expectedSize` bytes: on the shared worker for MD5
 * and SHA-256 of large transfers, on the main thread otherwise (CRC32C, small or unknown
 * sizes).
 */
export function createChecksumJob(algorithms: readonly ChecksumAlgorithm[], expectedSize: number | undefined): ChecksumJob {
  const offloadable = algorithms.length > 0 && algorithms.every((a) => a === 'md5' || a === 'sha256');
  if (!offloadable || expectedSize === undefined || expectedSize < WORKER_HASHING_THRESHOLD) {
    const accumulator = createChecksumAccumulator(algorithms);
    return {
      update: (chunk) => accumulator.update(chunk),
      digest: async () => accumulator.digest(),
      close: () => undefined,
    };
  }
  shared ??= new HashWorker();
  return shared.job(algorithms);
}
