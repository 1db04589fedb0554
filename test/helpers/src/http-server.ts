/**
 * A real HTTP(S) file server on loopback (Node's own http/https modules), serving files from a
 * directory with the headers real servers send: Content-Length, ETag, Last-Modified, Range,
 * conditional GET. Knobs for the cases tests need: required headers (401 without), redirects,
 * a throttle (to kill a transfer mid-way), Content-MD5.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface HttpServerOptions {
  /** Directory whose files are served at `/<relative path>`. */
  root: string;
  /** Serve HTTPS with this key and certificate (PEM). */
  tls?: { key: string; cert: string };
  /** Headers every request must carry with exactly these values; 401 otherwise. */
  requiredHeaders?: Record<string, string>;
  /** Path -> absolute URL to answer with a 302. */
  redirects?: Record<string, string>;
  /** Send a Content-MD5 header (base64) with every file. */
  contentMd5?: boolean;
  /** Send ETag and Last-Modified. @default true */
  validators?: boolean;
  /** Limit every response body to this many bytes per second. */
  bytesPerSecond?: number;
  /** Path -> content to send instead of the file's, with the file's own headers (a corrupting server). */
  tamper?: Record<string, Buffer>;
  /** Serve ranges whatever If-Range says, as some servers and proxies do. @default false (honour it, as nginx does) */
  ignoreIfRange?: boolean;
  /**
   * Serve ranges at all (and say so with Accept-Ranges). `'ignored'`: say so, but answer every
   * range with the whole object (200), as some servers and proxies do. @default true
   */
  ranges?: boolean | 'ignored';
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  /** The status of a response sent whole; 0 while it is in flight or when it was cut. */
  status: number;
  /** The status line sent, also for a response the client cut short; 0 before the headers. */
  answered: number;
  /** Body bytes the server wrote for this request: what a client was really sent. */
  bytes: number;
}

export interface RunningHttpServer {
  /** `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`. */
  url: string;
  requests: RecordedRequest[];
  /** The most GET bodies ever in flight at once. */
  readonly maxInFlight: number;
  stop(): Promise<void>;
}

export async function startHttpServer(options: HttpServerOptions): Promise<RunningHttpServer> {
  const requests: RecordedRequest[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const record: RecordedRequest = { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, status: 0, answered: 0, bytes: 0 };
    requests.push(record);
    res.on('finish', () => (record.status = res.statusCode));
    res.on('close', () => (record.answered = res.headersSent ? res.statusCode : 0));
    if (req.method === 'GET') {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      // 'finish' fires when the last byte is handed to the kernel, before the client can see
      // it; 'close' alone would race with the client's next request.
      let counted = true;
      const release = (): void => {
        if (counted) inFlight--;
        counted = false;
      };
      res.once('finish', release);
      res.once('close', release);
    }
    serve(req, res, options, record).catch((error: unknown) => {
      if (!res.headersSent) {
        res.statusCode = 500;
        res.end(String(error));
      } else {
        res.destroy();
      }
    });
  };
  const server: Server = options.tls ? createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, handler) : createHttpServer(handler);
  // Node closes idle keep-alive connections after 5 s, racing a client that reuses one at that
  // moment (a reset). Web servers and CDNs keep them for a minute or more; so do we.
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    requests,
    get maxInFlight() {
      return maxInFlight;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function serve(req: IncomingMessage, res: ServerResponse, options: HttpServerOptions, record: RecordedRequest): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://x');
  for (const [name, value] of Object.entries(options.requiredHeaders ?? {})) {
    if (req.headers[name.toLowerCase()] !== value) {
      res.writeHead(401, { 'www-authenticate': 'Bearer' }).end('unauthorized');
      return;
    }
  }
  const redirect = options.redirects?.[url.pathname];
  if (redirect !== undefined) {
    res.writeHead(302, { location: redirect }).end();
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405).end();
    return;
  }
  const relative = normalize(decodeURIComponent(url.pathname)).replace(/^\/+/, '');
  if (relative.startsWith('..')) {
    res.writeHead(403).end();
    return;
  }
  const path = join(options.root, relative);
  const stats = await stat(path).catch(() => undefined);
  if (!stats?.isFile()) {
    res.writeHead(404).end('not found');
    return;
  }
  const headers: Record<string, string> = { 'content-type': 'application/java-archive', ...(options.ranges === false ? {} : { 'accept-ranges': 'bytes' }) };
  const etag = `"${stats.size.toString(16)}-${Math.floor(stats.mtimeMs).toString(16)}"`;
  const lastModified = stats.mtime.toUTCString();
  if (options.validators !== false) {
    headers.etag = etag;
    headers['last-modified'] = lastModified;
    if (req.headers['if-none-match'] === etag || (req.headers['if-none-match'] === undefined && req.headers['if-modified-since'] === lastModified)) {
      res.writeHead(304, headers).end();
      return;
    }
  }
  if (options.contentMd5) {
    headers['content-md5'] = createHash('md5').update(await readFile(path)).digest('base64');
  }
  let start = 0;
  let end = stats.size - 1;
  let status = 200;
  // If-Range (RFC 9110 13.1.5): the range only if the representation is still the one named,
  // by a strong ETag or the exact Last-Modified date; otherwise the whole of the new one.
  const ifRange = [req.headers['if-range']].flat()[0];
  const rangeStillValid = ifRange === undefined || options.ignoreIfRange === true || (ifRange.startsWith('"') ? ifRange === etag : ifRange === lastModified);
  const range = rangeStillValid && (options.ranges ?? true) === true ? /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '') : null;
  if (range) {
    start = Number(range[1]);
    end = range[2] ? Math.min(Number(range[2]), end) : end;
    if (start > end) {
      res.writeHead(416, { 'content-range': `bytes */${stats.size}` }).end();
      return;
    }
    status = 206;
    headers['content-range'] = `bytes ${start}-${end}/${stats.size}`;
  }
  headers['content-length'] = String(end - start + 1);
  res.writeHead(status, headers);
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const tampered = options.tamper?.[url.pathname];
  if (tampered !== undefined) {
    res.end(tampered);
    return;
  }
  const body = stats.size === 0 ? [] : createReadStream(path, { start, end });
  const counted = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      record.bytes += chunk.length;
      callback(null, chunk);
    },
  });
  if (options.bytesPerSecond !== undefined) {
    await pipeline(body, throttle(options.bytesPerSecond), counted, res);
  } else {
    await pipeline(body, counted, res);
  }
}

/** Paces a body to `bytesPerSecond`: each piece goes out when the bytes before it are due. */
function throttle(bytesPerSecond: number): Transform {
  const pieceSize = Math.max(1, Math.floor(bytesPerSecond / 20));
  const started = Date.now();
  let sent = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      const pieces: Buffer[] = [];
      for (let i = 0; i < chunk.length; i += pieceSize) pieces.push(chunk.subarray(i, i + pieceSize));
      const next = (): void => {
        const piece = pieces.shift();
        if (piece === undefined) return callback();
        const due = started + (sent / bytesPerSecond) * 1000;
        setTimeout(() => {
          sent += piece.length;
          this.push(piece);
          next();
        }, Math.max(0, due - Date.now()));
      };
      next();
    },
  });
}
