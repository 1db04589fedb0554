/**
 * A GCS JSON API test server: the protocol subset the real `@google-cloud/storage` client uses
 * for our work, written from Google's JSON API reference, on loopback. It is not an emulator
 * of GCS: no IAM, no ACLs, no versioning history, no compose, one current generation per
 * object. It does what matters to us faithfully: object metadata with md5Hash/crc32c (crc32c
 * computed by the storage library's own CRC32C, independent of ours), media download with
 * Range and generation pinning, uploads (media, multipart, resumable with chunks), the
 * ifGenerationMatch/ifGenerationNotMatch preconditions (412), bucket create/get/list, and a
 * bucket switch that answers 403 to simulate denied access. Bodies live on disk, so large
 * objects do not grow its memory.
 *
 * https://cloud.google.com/storage/docs/json_api/v1/objects
 * https://cloud.google.com/storage/docs/performing-resumable-uploads
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rename, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CRC32C } from '@google-cloud/storage';

export interface GcsObjectRecord {
  bucket: string;
  name: string;
  generation: string;
  metageneration: string;
  size: number;
  md5Hash: string;
  crc32c: string;
  contentType: string;
  contentEncoding: string | undefined;
  metadata: Record<string, string>;
  timeCreated: string;
  updated: string;
  file: string;
}

export interface RecordedGcsRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  status: number;
}

export interface RunningGcsServer {
  /** `http://127.0.0.1:PORT`: pass as `apiEndpoint` or STORAGE_EMULATOR_HOST. */
  url: string;
  requests: RecordedGcsRequest[];
  createBucket(name: string): void;
  /** Every request touching this bucket gets 403. */
  denyBucket(name: string): void;
  /** The current record of an object, or undefined. */
  object(bucket: string, name: string): GcsObjectRecord | undefined;
  /** Stores an object directly (test arrangement), as an upload would. */
  putObject(bucket: string, name: string, content: Buffer, metadata?: Record<string, string>): Promise<GcsObjectRecord>;
  stop(): Promise<void>;
}

interface ResumableSession {
  bucket: string;
  name: string;
  metadata: Record<string, unknown>;
  ifGenerationMatch: string | undefined;
  file: string;
  received: number;
  md5: ReturnType<typeof createHash>;
  crc: CRC32C;
}

class HttpError extends Error {
  readonly status: number;
  readonly reason: string;
  constructor(status: number, message: string, reason = 'invalid') {
    super(message);
    this.status = status;
    this.reason = reason;
  }
}

/** Options of {@link startGcsServer}. */
export interface GcsServerOptions {
  /**
   * Answer requests without an Authorization header with 401, as GCS does for a private bucket
   * (an emulator accepts anonymous callers). @default false
   */
  readonly requireAuth?: boolean;
}

export async function startGcsServer(options: GcsServerOptions = {}): Promise<RunningGcsServer> {
  const dir = await mkdtemp(join(tmpdir(), 'fa-gcs-'));
  const buckets = new Map<string, { name: string; timeCreated: string }>();
  const denied = new Set<string>();
  const objects = new Map<string, GcsObjectRecord>();
  const sessions = new Map<string, ResumableSession>();
  const commitQueue = new Map<string, Promise<GcsObjectRecord>>();
  const requests: RecordedGcsRequest[] = [];
  let generationCounter = Date.now() * 1000;
  let baseUrl = '';

  const keyOf = (bucket: string, name: string): string => `${bucket}\u0000${name}`;

  function requireBucket(name: string): void {
    if (denied.has(name)) throw new HttpError(403, `caller does not have storage access to bucket ${name}`, 'forbidden');
    if (!buckets.has(name)) throw new HttpError(404, `The specified bucket does not exist.`, 'notFound');
  }

  function checkPreconditions(existing: GcsObjectRecord | undefined, query: Record<string, string>): void {
    const match = query.ifGenerationMatch;
    if (match !== undefined) {
      const current = existing?.generation ?? '0';
      if (match !== current) throw new HttpError(412, 'At least one of the pre-conditions you specified did not hold.', 'conditionNotMet');
    }
    const notMatch = query.ifGenerationNotMatch;
    if (notMatch !== undefined && existing?.generation === notMatch) {
      throw new HttpError(304, 'not modified', 'notModified');
    }
  }

  function resource(record: GcsObjectRecord): Record<string, unknown> {
    return {
      kind: 'storage#object',
      id: `${record.bucket}/${record.name}/${record.generation}`,
      selfLink: `${baseUrl}/storage/v1/b/${record.bucket}/o/${encodeURIComponent(record.name)}`,
      mediaLink: `${baseUrl}/download/storage/v1/b/${record.bucket}/o/${encodeURIComponent(record.name)}?generation=${record.generation}&alt=media`,
      name: record.name,
      bucket: record.bucket,
      generation: record.generation,
      metageneration: record.metageneration,
      contentType: record.contentType,
      ...(record.contentEncoding ? { contentEncoding: record.contentEncoding } : {}),
      storageClass: 'STANDARD',
      size: String(record.size),
      md5Hash: record.md5Hash,
      crc32c: record.crc32c,
      etag: `${record.generation}`,
      timeCreated: record.timeCreated,
      updated: record.updated,
      ...(Object.keys(record.metadata).length > 0 ? { metadata: record.metadata } : {}),
    };
  }

  /** Streams a body to a new file while hashing it; returns size and hashes. */
  async function receive(body: Readable, file: string): Promise<{ size: number; md5Hash: string; crc32c: string }> {
    const md5 = createHash('md5');
    const crc = new CRC32C();
    let size = 0;
    await pipeline(
      body,
      new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          md5.update(chunk);
          crc.update(chunk);
          size += chunk.length;
          callback(null, chunk);
        },
      }),
      createWriteStream(file),
    );
    return { size, md5Hash: md5.digest('base64'), crc32c: crc.toString() };
  }

  async function commit(
    bucket: string,
    name: string,
    file: string,
    hashes: { size: number; md5Hash: string; crc32c: string },
    meta: Record<string, unknown>,
    query: Record<string, string>,
  ): Promise<GcsObjectRecord> {
    // Commits of one name run one at a time, so a precondition check and the write it guards
    // are atomic, as in GCS.
    const key = keyOf(bucket, name);
    const previous = commitQueue.get(key) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(() => commitNow(bucket, name, file, hashes, meta, query));
    commitQueue.set(key, run);
    try {
      return await run;
    } finally {
      if (commitQueue.get(key) === run) commitQueue.delete(key);
    }
  }

  async function commitNow(
    bucket: string,
    name: string,
    file: string,
    hashes: { size: number; md5Hash: string; crc32c: string },
    meta: Record<string, unknown>,
    query: Record<string, string>,
  ): Promise<GcsObjectRecord> {
    const existing = objects.get(keyOf(bucket, name));
    try {
      checkPreconditions(existing, query);
    } catch (error) {
      await rm(file, { force: true });
      throw error;
    }
    // A client-stated hash that does not match the bytes is refused, as GCS refuses it.
    if (typeof meta.md5Hash === 'string' && meta.md5Hash !== hashes.md5Hash) {
      await rm(file, { force: true });
      throw new HttpError(400, 'Provided MD5 hash does not match calculated MD5 hash.', 'invalid');
    }
    if (typeof meta.crc32c === 'string' && meta.crc32c !== hashes.crc32c) {
      await rm(file, { force: true });
      throw new HttpError(400, 'Provided CRC32C does not match calculated CRC32C.', 'invalid');
    }
    const generation = String(++generationCounter);
    const finalFile = join(dir, `obj-${generation}`);
    await rename(file, finalFile);
    if (existing) await rm(existing.file, { force: true });
    const now = new Date().toISOString();
    const record: GcsObjectRecord = {
      bucket,
      name,
      generation,
      metageneration: '1',
      size: hashes.size,
      md5Hash: hashes.md5Hash,
      crc32c: hashes.crc32c,
      contentType: typeof meta.contentType === 'string' ? meta.contentType : 'application/octet-stream',
      contentEncoding: typeof meta.contentEncoding === 'string' ? meta.contentEncoding : undefined,
      metadata: isStringMap(meta.metadata) ? meta.metadata : {},
      timeCreated: now,
      updated: now,
      file: finalFile,
    };
    objects.set(keyOf(bucket, name), record);
    return record;
  }

  async function handle(req: IncomingMessage, res: ServerResponse, url: URL, query: Record<string, string>): Promise<void> {
    const method = req.method ?? 'GET';
    if (options.requireAuth === true && req.headers.authorization === undefined) {
      throw new HttpError(401, 'Anonymous caller does not have storage.objects.get access to the Google Cloud Storage object.', 'required');
    }
    // With STORAGE_EMULATOR_HOST the client drops the /storage/v1 prefix from JSON API paths
    // (its base URL is the variable itself); accept both forms.
    const path = /^\/b(\/|$)/.test(url.pathname) ? `/storage/v1${url.pathname}` : url.pathname;
    let m: RegExpExecArray | null;

    // Buckets: https://cloud.google.com/storage/docs/json_api/v1/buckets
    if (method === 'POST' && /^\/storage\/v1\/b\/?$/.test(path)) {
      const body = JSON.parse((await readAll(req)).toString('utf8') || '{}') as { name?: string };
      if (!body.name) throw new HttpError(400, 'bucket name required');
      if (buckets.has(body.name)) throw new HttpError(409, 'Your previous request to create the named bucket succeeded and you already own it.', 'conflict');
      buckets.set(body.name, { name: body.name, timeCreated: new Date().toISOString() });
      return json(res, 200, { kind: 'storage#bucket', id: body.name, name: body.name });
    }
    if ((m = /^\/storage\/v1\/b\/([^/]+)\/?$/.exec(path))) {
      const bucket = decodeURIComponent(m[1]!);
      requireBucket(bucket);
      if (method === 'GET') return json(res, 200, { kind: 'storage#bucket', id: bucket, name: bucket, ...buckets.get(bucket) });
      if (method === 'DELETE') {
        if ([...objects.values()].some((o) => o.bucket === bucket)) throw new HttpError(409, 'The bucket you tried to delete is not empty.', 'conflict');
        buckets.delete(bucket);
        res.writeHead(204).end();
        return;
      }
    }

    // Object listing
    if (method === 'GET' && (m = /^\/storage\/v1\/b\/([^/]+)\/o\/?$/.exec(path))) {
      const bucket = decodeURIComponent(m[1]!);
      requireBucket(bucket);
      const prefix = query.prefix ?? '';
      const items = [...objects.values()]
        .filter((o) => o.bucket === bucket && o.name.startsWith(prefix))
        .sort((a, b) => (a.name < b.name ? -1 : 1));
      return json(res, 200, { kind: 'storage#objects', items: items.map(resource) });
    }

    // Uploads: media, multipart, resumable
    if ((m = /^\/upload\/storage\/v1\/b\/([^/]+)\/o\/?$/.exec(path))) {
      const bucket = decodeURIComponent(m[1]!);
      requireBucket(bucket);
      const uploadType = query.uploadType;
      if (method === 'POST' && uploadType === 'media') {
        const name = query.name;
        if (!name) throw new HttpError(400, 'name required');
        checkPreconditions(objects.get(keyOf(bucket, name)), query);
        const tmp = join(dir, `up-${randomUUID()}`);
        const hashes = await receive(req, tmp);
        const record = await commit(bucket, name, tmp, hashes, { contentType: req.headers['content-type'] }, query);
        return json(res, 200, resource(record));
      }
      if (method === 'POST' && uploadType === 'multipart') {
        const { meta, content } = await readMultipart(req);
        const name = typeof meta.name === 'string' ? meta.name : query.name;
        if (!name) throw new HttpError(400, 'name required');
        const tmp = join(dir, `up-${randomUUID()}`);
        const hashes = await receive(bufferStream(content), tmp);
        const record = await commit(bucket, name, tmp, hashes, meta, query);
        return json(res, 200, resource(record));
      }
      if (method === 'POST' && uploadType === 'resumable') {
        const text = (await readAll(req)).toString('utf8');
        const meta = (text ? JSON.parse(text) : {}) as Record<string, unknown>;
        const name = typeof meta.name === 'string' ? meta.name : query.name;
        if (!name) throw new HttpError(400, 'name required');
        checkPreconditions(objects.get(keyOf(bucket, name)), query);
        const id = randomUUID();
        const file = join(dir, `up-${id}`);
        await rm(file, { force: true });
        sessions.set(id, {
          bucket,
          name,
          metadata: meta,
          ifGenerationMatch: query.ifGenerationMatch,
          file,
          received: 0,
          md5: createHash('md5'),
          crc: new CRC32C(),
        });
        res.writeHead(200, { location: `${baseUrl}/upload/storage/v1/b/${bucket}/o?uploadType=resumable&upload_id=${id}` }).end();
        return;
      }
      if (method === 'PUT' && query.upload_id !== undefined) {
        const session = sessions.get(query.upload_id);
        if (!session) throw new HttpError(404, 'No such upload session', 'notFound');
        return resumableChunk(req, res, query.upload_id, session);
      }
    }

    // Object get / media / delete
    if ((m = /^\/(download\/)?storage\/v1\/b\/([^/]+)\/o\/(.+)$/.exec(path))) {
      const bucket = decodeURIComponent(m[2]!);
      const name = decodeURIComponent(m[3]!);
      requireBucket(bucket);
      const record = objects.get(keyOf(bucket, name));
      if (!record || (query.generation !== undefined && query.generation !== record.generation)) {
        throw new HttpError(404, `No such object: ${bucket}/${name}`, 'notFound');
      }
      if (method === 'DELETE') {
        checkPreconditions(record, query);
        objects.delete(keyOf(bucket, name));
        await rm(record.file, { force: true });
        res.writeHead(204).end();
        return;
      }
      if (method === 'GET' || method === 'HEAD') {
        checkPreconditions(record, query);
        if (query.alt === 'media' || m[1] !== undefined) return media(req, res, record);
        return json(res, 200, resource(record));
      }
    }
    throw new HttpError(501, `test server does not implement ${method} ${path}`, 'notImplemented');
  }

  async function resumableChunk(req: IncomingMessage, res: ServerResponse, id: string, session: ResumableSession): Promise<void> {
    const range = req.headers['content-range'] ?? '';
    const statusOnly = /^bytes \*\/(\d+|\*)$/.exec(range);
    const data = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(range);
    // The client's single-request streaming mode: the rest of the object in one request whose
    // length it does not know; the end of the request body is the end of the object.
    const streaming = /^bytes (\d+)-\*\/(\d+|\*)$/.exec(range);
    const incomplete = (): void => void res.writeHead(308, session.received > 0 ? { range: `bytes=0-${session.received - 1}` } : {}).end();
    let total: number | undefined;
    if (streaming || data) {
      const start = Number((streaming ?? data)![1]);
      if (start !== session.received) {
        // Out of order: tell the client what we have.
        req.resume();
        return incomplete();
      }
      await appendBody(req, session);
      const stated = (streaming ?? data)![streaming ? 2 : 3];
      total = stated === '*' ? (streaming ? session.received : undefined) : Number(stated);
    } else if (statusOnly) {
      req.resume();
      total = statusOnly[1] === '*' ? undefined : Number(statusOnly[1]);
    } else if (range === '') {
      // A single PUT with the whole body and no Content-Range.
      await appendBody(req, session);
      total = session.received;
    } else {
      req.resume();
      throw new HttpError(400, `bad Content-Range ${range}`);
    }
    if (total === undefined || session.received < total) return incomplete();
    sessions.delete(id);
    const record = await commit(
      session.bucket,
      session.name,
      session.file,
      { size: session.received, md5Hash: session.md5.digest('base64'), crc32c: session.crc.toString() },
      session.metadata,
      session.ifGenerationMatch === undefined ? {} : { ifGenerationMatch: session.ifGenerationMatch },
    );
    return json(res, 200, resource(record));
  }

  /** Streams a request body onto the end of a session's file, hashing as it goes. */
  async function appendBody(req: IncomingMessage, session: ResumableSession): Promise<void> {
    await pipeline(
      req,
      new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          session.md5.update(chunk);
          session.crc.update(chunk);
          session.received += chunk.length;
          callback(null, chunk);
        },
      }),
      createWriteStream(session.file, { flags: 'a' }),
    );
  }

  async function media(req: IncomingMessage, res: ServerResponse, record: GcsObjectRecord): Promise<void> {
    const headers: Record<string, string> = {
      'content-type': record.contentType,
      'x-goog-generation': record.generation,
      'x-goog-metageneration': record.metageneration,
      'x-goog-stored-content-length': String(record.size),
      'x-goog-stored-content-encoding': record.contentEncoding ?? 'identity',
      'x-goog-hash': `crc32c=${record.crc32c},md5=${record.md5Hash}`,
      etag: record.generation,
      'accept-ranges': 'bytes',
    };
    if (record.contentEncoding) headers['content-encoding'] = record.contentEncoding;
    let start = 0;
    let end = record.size - 1;
    let status = 200;
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (range) {
      start = Number(range[1]);
      end = range[2] ? Math.min(Number(range[2]), end) : end;
      if (start > end) throw new HttpError(416, 'Requested range not satisfiable', 'requestedRangeNotSatisfiable');
      status = 206;
      headers['content-range'] = `bytes ${start}-${end}/${record.size}`;
      delete headers['x-goog-hash'];
    }
    headers['content-length'] = String(Math.max(0, end - start + 1));
    res.writeHead(status, headers);
    if (req.method === 'HEAD' || record.size === 0) return void res.end();
    await pipeline(createReadStream(record.file, { start, end }), res);
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const query = Object.fromEntries(url.searchParams);
    const record: RecordedGcsRequest = { method: req.method ?? 'GET', path: url.pathname, query, status: 0 };
    requests.push(record);
    res.on('finish', () => (record.status = res.statusCode));
    // GCS_DEBUG=1 traces requests and socket closes on stderr, for debugging a client.
    if (process.env.GCS_DEBUG) {
      console.error('REQ', req.method, url.pathname, url.search, req.headers['content-range'] ?? '', req.headers['content-length'] ?? '');
      res.on('finish', () => console.error('RES', res.statusCode));
      req.socket.once('close', () => console.error('SOCKET CLOSE'));
    }
    handle(req, res, url, query).catch((error: unknown) => {
      const status = error instanceof HttpError ? error.status : 500;
      const message = error instanceof Error ? error.message : String(error);
      if (res.headersSent) return void res.destroy();
      req.resume();
      if (status === 304) return void res.writeHead(304).end();
      json(res, status, { error: { code: status, message, errors: [{ message, domain: 'global', reason: error instanceof HttpError ? error.reason : 'backendError' }] } });
    });
  });
  // Node closes idle keep-alive connections after 5 s, racing a client that reuses one at that
  // moment (a reset). Google's front ends keep them for minutes; so do we.
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: baseUrl,
    requests,
    createBucket(name) {
      buckets.set(name, { name, timeCreated: new Date().toISOString() });
    },
    denyBucket(name) {
      denied.add(name);
    },
    object(bucket, name) {
      return objects.get(keyOf(bucket, name));
    },
    async putObject(bucket, name, content, metadata) {
      requireBucket(bucket);
      const tmp = join(dir, `up-${randomUUID()}`);
      const hashes = await receive(bufferStream(content), tmp);
      return commit(bucket, name, tmp, hashes, metadata ? { metadata } : {}, {});
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(text) }).end(text);
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function bufferStream(content: Buffer): Readable {
  return (async function* () {
    yield content;
  })() as unknown as Readable;
}

// multipart/related with two parts: JSON metadata, then the content.
async function readMultipart(req: IncomingMessage): Promise<{ meta: Record<string, unknown>; content: Buffer }> {
  const type = req.headers['content-type'] ?? '';
  const boundary = /boundary="?([^";]+)"?/.exec(type)?.[1];
  if (!boundary) throw new HttpError(400, 'multipart upload without boundary');
  const body = await readAll(req);
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: Buffer[] = [];
  let index = body.indexOf(delimiter);
  while (index !== -1) {
    const next = body.indexOf(delimiter, index + delimiter.length);
    if (next === -1) break;
    parts.push(body.subarray(index + delimiter.length, next));
    index = next;
  }
  const [metaPart, contentPart] = parts.map((part) => {
    const headerEnd = part.indexOf('\r\n\r\n');
    // Strip the CRLF after the delimiter and the one before the next delimiter.
    return part.subarray(headerEnd + 4, part.length - 2);
  });
  if (!metaPart || !contentPart) throw new HttpError(400, 'multipart upload needs metadata and content parts');
  return { meta: JSON.parse(metaPart.toString('utf8')) as Record<string, unknown>, content: contentPart };
}

function isStringMap(value: unknown): value is Record<string, string> {
  return typeof value === 'object' && value !== null && Object.values(value).every((v) => typeof v === 'string');
}
