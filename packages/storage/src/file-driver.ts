import { randomBytes } from 'node:crypto';
import { createWriteStream, type Stats } from 'node:fs';
import { link, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  InvalidUriError,
  NotAFileError,
  READ_NONBLOCKING,
  ObjectChangedError,
  ObjectExistsError,
  fileSystemError,
  hashFile,
  type ChecksumAlgorithm,
  type Checksums,
  type NotModified,
  type ObjectRef,
  type ReadOptions,
  type ReadResult,
  type RemoteObject,
  type StatOptions,
  type StorageDriver,
  type UploadSource,
  type WriteOptions,
} from '@flink-artifacts/core';
import { byteMeter } from './meter.ts';

/**
 * A driver for `file://` and `local://` paths on this machine. A file's version is its size,
 * modification time and inode: enough to notice a replaced or edited file without reading it.
 */
export function createFileDriver(): StorageDriver {
  function pathOf(ref: ObjectRef): string {
    if (ref.location.scheme !== 'file' && ref.location.scheme !== 'local') {
      throw new InvalidUriError(`the file driver cannot read ${ref.display}`);
    }
    return ref.location.path;
  }

  return {
    name: 'file',

    async stat(ref: ObjectRef, options: StatOptions = {}): Promise<RemoteObject | undefined> {
      options.signal?.throwIfAborted();
      let stats: Stats;
      try {
        stats = await stat(pathOf(ref));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw fileSystemError(error, ref.display, 'read');
      }
      return describeFile(stats, ref.display);
    },

    async read(ref: ObjectRef, options: ReadOptions = {}): Promise<ReadResult | NotModified> {
      options.signal?.throwIfAborted();
      const path = pathOf(ref);
      // Open first: a missing or unreadable file fails here, typed, instead of later on the stream.
      const handle = await open(path, READ_NONBLOCKING).catch((error: unknown) => {
        throw fileSystemError(error, ref.display, 'read');
      });
      let object: RemoteObject;
      try {
        object = describeFile(await handle.stat(), ref.display);
      } catch (error) {
        await handle.close();
        throw error;
      }
      if (options.unlessVersion !== undefined && options.unlessVersion === object.version) {
        await handle.close();
        return { notModified: true };
      }
      if (options.ifMatch !== undefined && options.ifMatch !== object.version) {
        await handle.close();
        throw new ObjectChangedError(`${ref.display} changed since the transfer began`);
      }
      const start = options.start ?? 0;
      const body = handle.createReadStream({ highWaterMark: 1024 * 1024, start, ...(options.end === undefined ? {} : { end: options.end }), ...(options.signal ? { signal: options.signal } : {}) });
      return { notModified: false, body, object, start };
    },

    async list(prefix: ObjectRef, options: StatOptions = {}): Promise<Map<string, RemoteObject>> {
      options.signal?.throwIfAborted();
      const dir = pathOf(prefix);
      const objects = new Map<string, RemoteObject>();
      const names = await readdir(dir).catch((error: unknown) => {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [] as string[];
        throw fileSystemError(error, prefix.display, 'read');
      });
      for (const name of names) {
        const info = await stat(join(dir, name)).catch(() => undefined);
        if (info?.isFile()) objects.set(join(dir, name), describeFile(info, prefix.display));
      }
      return objects;
    },

    async hash(ref: ObjectRef, algorithms: readonly ChecksumAlgorithm[]): Promise<Checksums> {
      return hashFile(pathOf(ref), algorithms).catch((error: unknown) => {
        throw fileSystemError(error, ref.display, 'read');
      });
    },

    /**
     * Writes beside the destination, then publishes with link(2), which fails if the name is
     * taken: an exclusive create that never shows a partial file. Overwrites use rename(2).
     */
    async write(ref: ObjectRef, source: UploadSource, writeOptions: WriteOptions): Promise<RemoteObject> {
      const path = pathOf(ref);
      const dir = dirname(path);
      await mkdir(dir, { recursive: true }).catch((error: unknown) => {
        throw fileSystemError(error, ref.display, 'write');
      });
      // Not derived from the name: a name near the filesystem's 255 bytes could not take a suffix.
      const tmp = join(dir, `.flink-artifacts-${process.pid}-${randomBytes(6).toString('hex')}.part`);
      try {
        await pipeline(
          source.open(),
          byteMeter(writeOptions.onBytes),
          createWriteStream(tmp, { flags: 'wx', flush: true }),
          ...(writeOptions.signal ? [{ signal: writeOptions.signal }] : []),
        );
        if (writeOptions.ifAbsent) {
          await link(tmp, path).catch((error: unknown) => {
            if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new ObjectExistsError(`${ref.display}: a file of that name already exists`);
            throw error;
          });
        } else {
          await rename(tmp, path);
        }
      } catch (error) {
        throw error instanceof ObjectExistsError ? error : fileSystemError(error, ref.display, 'write');
      } finally {
        await rm(tmp, { force: true });
      }
      const written = await stat(path);
      return { ...describeFile(written, ref.display), checksums: { ...writeOptions.checksums } };
    },
  };
}

function describeFile(stats: Stats, display: string): RemoteObject {
  if (!stats.isFile()) throw new NotAFileError(`${display} is ${stats.isDirectory() ? 'a directory' : 'not a regular file'}`);
  return { size: stats.size, checksums: {}, version: `${stats.size}:${stats.mtimeMs}:${stats.ino}`, acceptsRanges: true };
}
