import { createHash, type Hash } from 'node:crypto';
import { constants, createReadStream, openSync } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { Readable } from 'node:stream';

/** Checksum algorithms a store may state and we can verify. */
export type ChecksumAlgorithm = 'md5' | 'sha256' | 'crc32c';

/** Whole-object checksums as lowercase hex (crc32c as 8 hex digits, big-endian). */
export type Checksums = Partial<Record<ChecksumAlgorithm, string>>;

/** Accumulates the requested checksums over a stream of chunks. */
export interface ChecksumAccumulator {
  update(chunk: Uint8Array): void;
  /** The checksums of everything passed to `update`. Call once. */
  digest(): Checksums;
}

/** A {@link ChecksumAccumulator} for the given algorithms (none is fine: it then costs nothing). */
export function createChecksumAccumulator(algorithms: Iterable<ChecksumAlgorithm>): ChecksumAccumulator {
  const hashes = new Map<'md5' | 'sha256', Hash>();
  let crc: number | undefined;
  for (const algorithm of new Set(algorithms)) {
    if (algorithm === 'crc32c') crc = 0;
    else hashes.set(algorithm, createHash(algorithm));
  }
  return {
    update(chunk) {
      for (const hash of hashes.values()) hash.update(chunk);
      if (crc !== undefined) crc = crc32cUpdate(crc, chunk);
    },
    digest() {
      const result: Checksums = {};
      for (const [algorithm, hash] of hashes) result[algorithm] = hash.digest('hex');
      if (crc !== undefined) result.crc32c = crc.toString(16).padStart(8, '0');
      return result;
    },
  };
}

/** The given checksums of a whole file, in one streamed read. Filesystem errors pass through as they are. */
/**
 * Flags for opening a file to read: never blocks, so a FIFO (or a device) put where a file was
 * expected fails instead of hanging the process forever, as a blocking open() on a FIFO waits
 * for a writer. Regular files read as usual.
 */
export const READ_NONBLOCKING = constants.O_RDONLY | constants.O_NONBLOCK;

/**
 * A read stream of a file (or a byte range of it), opened with {@link READ_NONBLOCKING}. A
 * failed open (ENOENT, EACCES...) is the stream's error, as with `createReadStream`.
 */
export function openForReading(path: string, options: { highWaterMark?: number; start?: number; end?: number } = {}): Readable {
  let fd: number;
  try {
    fd = openSync(path, READ_NONBLOCKING);
  } catch (error) {
    return new Readable({
      read() {
        this.destroy(error as Error);
      },
    });
  }
  return createReadStream(path, { ...options, fd });
}

/**
 * The text of a small regular file we read whole (Flink's config file, a CA bundle, a pod
 * template). Opened without blocking and checked before reading, so that a FIFO put there
 * does not hang the process (and SIGTERM with it) and a device is not read without end.
 *
 * @throws the open's error (ENOENT, EACCES...), or an Error without a code whose message
 *   says what the path is instead: "not a regular file (a FIFO)", "larger than ...".
 */
export async function readRegularTextFile(path: string, maxBytes = 16 * 1024 * 1024): Promise<string> {
  const handle = await openFile(path, READ_NONBLOCKING);
  try {
    const info = await handle.stat();
    if (!info.isFile()) {
      const kind = info.isFIFO() ? 'a FIFO' : info.isDirectory() ? 'a directory' : info.isSocket() ? 'a socket' : 'a device';
      throw new Error(`not a regular file (${kind})`);
    }
    if (info.size > maxBytes) throw new Error(`larger than ${maxBytes} bytes (${info.size})`);
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

export async function hashFile(path: string, algorithms: Iterable<ChecksumAlgorithm>): Promise<Checksums> {
  const accumulator = createChecksumAccumulator(algorithms);
  for await (const chunk of openForReading(path, { highWaterMark: 1024 * 1024 })) accumulator.update(chunk as Buffer);
  return accumulator.digest();
}

/** Converts a base64 checksum (as GCS and S3 headers carry them) to lowercase hex. */
export function base64ToHex(value: string): string {
  return Buffer.from(value, 'base64').toString('hex');
}

/** Converts a hex checksum to base64 (for S3/GCS request headers). */
export function hexToBase64(value: string): string {
  return Buffer.from(value, 'hex').toString('base64');
}

/** The algorithms both sides know, with whether they all agree. */
export function compareChecksums(expected: Checksums, actual: Checksums): { compared: ChecksumAlgorithm[]; mismatched: ChecksumAlgorithm[] } {
  const compared: ChecksumAlgorithm[] = [];
  const mismatched: ChecksumAlgorithm[] = [];
  for (const algorithm of ['sha256', 'md5', 'crc32c'] as const) {
    const want = expected[algorithm];
    const have = actual[algorithm];
    if (want === undefined || have === undefined) continue;
    compared.push(algorithm);
    if (want.toLowerCase() !== have.toLowerCase()) mismatched.push(algorithm);
  }
  return { compared, mismatched };
}

// CRC-32C (Castagnoli), reflected polynomial 0x82F63B78, slicing-by-8 tables. GCS states it for
// every object, also composite ones that have no MD5.
const CRC_TABLES: Uint32Array[] = (() => {
  const tables = Array.from({ length: 8 }, () => new Uint32Array(256));
  const first = tables[0]!;
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    first[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    let c = first[n]!;
    for (let t = 1; t < 8; t++) {
      c = (first[c & 0xff]! ^ (c >>> 8)) >>> 0;
      tables[t]![n] = c;
    }
  }
  return tables;
})();

/** Continues a CRC-32C over `data`; start with 0. */
export function crc32cUpdate(crc: number, data: Uint8Array): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = CRC_TABLES as [Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array];
  let c = ~crc >>> 0;
  let i = 0;
  const end8 = data.length - (data.length % 8);
  while (i < end8) {
    const a = (c ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24))) >>> 0;
    c =
      t7[a & 0xff]! ^
      t6[(a >>> 8) & 0xff]! ^
      t5[(a >>> 16) & 0xff]! ^
      t4[a >>> 24]! ^
      t3[data[i + 4]!]! ^
      t2[data[i + 5]!]! ^
      t1[data[i + 6]!]! ^
      t0[data[i + 7]!]!;
    i += 8;
  }
  while (i < data.length) c = t0[(c ^ data[i++]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
