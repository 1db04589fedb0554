/**
 * Tests send packets to loopback only. The guard makes that a checked fact in this process:
 * every TCP connect is held to 127.0.0.0/8 and ::1, before any packet leaves, for literal
 * addresses and for names alike (their DNS answers are checked before the socket connects). A
 * connect elsewhere fails with an error and is recorded, so a test can also show that the code
 * under test never tried.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import * as net from 'node:net';
import { isIP } from 'node:net';

/** A connect the guard stopped. */
export interface BlockedConnect {
  readonly host: string;
  readonly address: string;
}

export interface LoopbackGuard {
  /** Every connect that was stopped, in order. */
  readonly blocked: BlockedConnect[];
  /** Removes the guard. */
  uninstall(): void;
}

export function isLoopback(address: string): boolean {
  const plain = address.replace(/^\[|\]$/g, '').replace(/^::ffff:/, '');
  return plain === '::1' || (isIP(plain) === 4 && plain.startsWith('127.'));
}

type Lookup = (hostname: string, options: LookupOptions, callback: (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void) => void;

let installed: LoopbackGuard | undefined;

/** Installs the guard (once per process; later calls return the same guard). */
export function guardLoopback(): LoopbackGuard {
  if (installed !== undefined) return installed;
  const blocked: BlockedConnect[] = [];
  const original = net.Socket.prototype.connect;
  const refuse = (host: string, address: string): NodeJS.ErrnoException => {
    blocked.push({ host, address });
    return Object.assign(new Error(`loopback guard: connect to ${host} (${address}) stopped: tests stay on loopback`), { code: 'ECONNREFUSED' });
  };
  net.Socket.prototype.connect = function connect(this: net.Socket, ...args: unknown[]): net.Socket {
    // net.connect() hands its already normalized arguments over as one array: [options, cb].
    if (Array.isArray(args[0])) {
      const normalized = args[0] as unknown[];
      const checked = guardOptions(this, normalized[0]);
      if (checked === 'refused') return this;
      normalized[0] = checked;
      return (original as (...a: unknown[]) => net.Socket).apply(this, args);
    }
    const first = args[0];
    // connect(port[, host][, cb]) -> the options form.
    if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
      const host = typeof args[1] === 'string' ? args[1] : 'localhost';
      const callback = args.find((a) => typeof a === 'function');
      return connect.call(this, { port: Number(first), host }, ...(callback ? [callback] : []));
    }
    if (first !== null && typeof first === 'object') {
      const checked = guardOptions(this, first);
      if (checked === 'refused') return this;
      args[0] = checked;
    }
    return (original as (...a: unknown[]) => net.Socket).apply(this, args);
  } as typeof net.Socket.prototype.connect;

  /** The connect options with the guard applied, or 'refused' (the socket is then destroyed). */
  function guardOptions(socket: net.Socket, given: unknown): unknown {
    const options = given as net.TcpNetConnectOpts & { path?: string; lookup?: Lookup };
    if (options === null || typeof options !== 'object' || typeof options.path === 'string') return given;
    const host = options.host ?? 'localhost';
    if (isIP(host.replace(/^\[|\]$/g, '')) !== 0) {
      if (isLoopback(host)) return given;
      const error = refuse(host, host);
      process.nextTick(() => socket.destroy(error));
      return 'refused';
    }
    const lookup: Lookup = options.lookup ?? (dnsLookup as unknown as Lookup);
    const guarded: Lookup = (hostname, lookupOptions, callback) =>
      lookup(hostname, lookupOptions, (error, address, family) => {
        if (error) return callback(error, address, family);
        const addresses = Array.isArray(address) ? address.map((a) => a.address) : [address];
        const outside = addresses.find((a) => !isLoopback(a));
        if (outside !== undefined) return callback(refuse(hostname, outside), address, family);
        callback(null, address, family);
      });
    return { ...options, lookup: guarded };
  }
  installed = {
    blocked,
    uninstall() {
      net.Socket.prototype.connect = original;
      installed = undefined;
    },
  };
  return installed;
}
