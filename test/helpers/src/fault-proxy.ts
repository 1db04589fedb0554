/**
 * A fault-injecting HTTP proxy for tests: it sits between a client and a real server (Ceph RGW,
 * the HTTP server), forwards every request unchanged (so S3 signatures stay valid: the client
 * signs for the proxy's host, which it forwards) and damages chosen responses: reset the
 * connection after N body bytes, stall, answer 503, end the body early while keeping its
 * Content-Length, or flip one byte.
 */
import { request as httpRequest, createServer, type ClientRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Transform } from 'node:stream';

/** A fault applied to the body of a response (GET with a body only). */
export type Fault =
  | { readonly kind: 'reset'; readonly afterBytes: number }
  | { readonly kind: 'stall'; readonly afterBytes: number }
  | { readonly kind: 'status'; readonly status: number }
  | { readonly kind: 'truncate'; readonly afterBytes: number }
  | { readonly kind: 'corrupt'; readonly atByte: number }
  /** Wait before forwarding the request (any method): an upload in progress, for a while. */
  | { readonly kind: 'hold'; readonly ms: number }
  /**
   * Accept an upload, read this many bytes of its body, then stop reading and never answer (a
   * server or middlebox that hangs mid-upload). Nothing reaches the upstream server.
   */
  | { readonly kind: 'stall-upload'; readonly afterBytes: number };

export interface FaultRule {
  /** Which requests: method and a path test. @default every GET */
  readonly method?: string;
  readonly path?: RegExp;
  /** Apply to this many matching requests, then pass them through. @default 1 */
  readonly times?: number;
  /** Let this many matching requests through untouched first. @default 0 */
  readonly skip?: number;
  /** Only requests whose Range (or x-ms-range) header matches. */
  readonly range?: RegExp;
  readonly fault: Fault;
}

export interface ForwardedRequest {
  method: string;
  path: string;
  /** The Range (or, from Azure SDKs, x-ms-range) header. */
  range: string | undefined;
  status: number;
  fault: Fault['kind'] | undefined;
}

export interface RunningFaultProxy {
  /** `http://127.0.0.1:PORT` */
  url: string;
  requests: ForwardedRequest[];
  /** Adds a rule; rules apply in order, each to its first `times` matching requests. */
  inject(rule: FaultRule): void;
  stop(): Promise<void>;
}

export async function startFaultProxy(upstream: string): Promise<RunningFaultProxy> {
  const target = new URL(upstream);
  const rules: { rule: FaultRule; left: number; skipped: number }[] = [];
  const requests: ForwardedRequest[] = [];
  const stalled = new Set<ServerResponse>();
  const upstreams = new Set<ClientRequest>();

  const pick = (req: IncomingMessage): Fault | undefined => {
    for (const entry of rules) {
      const { rule } = entry;
      if (entry.left <= 0) continue;
      if ((rule.method ?? 'GET') !== req.method) continue;
      if (rule.path !== undefined && !rule.path.test(req.url ?? '')) continue;
      if (rule.range !== undefined && !rule.range.test(String(req.headers.range ?? req.headers['x-ms-range'] ?? ''))) continue;
      if (entry.skipped < (rule.skip ?? 0)) {
        entry.skipped++;
        continue;
      }
      entry.left--;
      return rule.fault;
    }
    return undefined;
  };

  const server = createServer((req, res) => {
    const fault = pick(req);
    const record: ForwardedRequest = { method: req.method ?? 'GET', path: req.url ?? '/', range: req.headers.range ?? (req.headers['x-ms-range'] as string | undefined), status: 0, fault: fault?.kind };
    requests.push(record);
    if (fault?.kind === 'status') {
      req.resume();
      record.status = fault.status;
      res.writeHead(fault.status, { 'content-type': 'application/xml', 'retry-after': '0' }).end('<Error><Code>SlowDown</Code><Message>injected</Message></Error>');
      return;
    }
    if (fault?.kind === 'stall-upload') {
      let received = 0;
      const onData = (chunk: Buffer): void => {
        received += chunk.length;
        if (received >= fault.afterBytes) {
          req.off('data', onData);
          req.pause();
        }
      };
      req.on('data', onData);
      stalled.add(res);
      return;
    }
    if (fault?.kind === 'hold') {
      req.pause();
      const timer = setTimeout(() => forward(undefined), fault.ms);
      res.once('close', () => clearTimeout(timer));
      return;
    }
    forward(fault);

    function forward(fault: Fault | undefined): void {
      const upstreamReq = httpRequest(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (upstreamRes) => {
          record.status = upstreamRes.statusCode ?? 0;
          res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
          if (fault === undefined || req.method !== 'GET') {
            upstreamRes.pipe(res);
            return;
          }
          let seen = 0;
          const damage = new Transform({
            transform(chunk: Buffer, _encoding, callback) {
              const before = seen;
              seen += chunk.length;
              switch (fault.kind) {
                case 'hold':
                case 'stall-upload':
                  return callback(null, chunk);
                case 'corrupt': {
                  if (fault.atByte >= before && fault.atByte < seen) {
                    const copy = Buffer.from(chunk);
                    copy[fault.atByte - before] = copy[fault.atByte - before]! ^ 0xff;
                    return callback(null, copy);
                  }
                  return callback(null, chunk);
                }
                case 'reset':
                case 'truncate':
                case 'stall': {
                  if (seen <= fault.afterBytes) return callback(null, chunk);
                  const keep = chunk.subarray(0, Math.max(0, fault.afterBytes - before));
                  if (keep.length > 0) this.push(keep);
                  upstreamRes.unpipe(damage);
                  upstreamRes.destroy();
                  if (fault.kind === 'reset') {
                    // After the kept bytes are flushed, kill the connection without a clean end.
                    res.socket?.write('', () => res.socket?.resetAndDestroy());
                  } else if (fault.kind === 'truncate') {
                    // A clean close of the connection with fewer bytes than Content-Length.
                    res.socket?.end();
                  } else {
                    stalled.add(res);
                  }
                  return callback();
                }
              }
            },
          });
          upstreamRes.pipe(damage).pipe(res);
        },
      );
      upstreamReq.on('error', () => res.destroy());
      // A client that goes away (an aborted upload) takes its upstream request with it, as a
      // real proxy's would: otherwise the server waits for the rest of a body forever.
      upstreams.add(upstreamReq);
      upstreamReq.once('close', () => upstreams.delete(upstreamReq));
      res.once('close', () => {
        if (!res.writableFinished) upstreamReq.destroy();
      });
      req.pipe(upstreamReq);
      req.resume();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    inject(rule) {
      rules.push({ rule, left: rule.times ?? 1, skipped: 0 });
    },
    async stop() {
      for (const res of stalled) res.destroy();
      for (const upstream of upstreams) upstream.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
