// Tests send packets to loopback only. The guard makes that a checked fact in a process: every
// TCP connect is held to 127.0.0.0/8 and ::1 before any packet leaves, for literal addresses and
// for names alike (a name's addresses are checked before the socket connects), and name lookups
// that would ask a DNS server are refused (only `localhost` names, answered from /etc/hosts,
// pass). What was stopped is recorded: a test can show that the code under test never tried,
// and with FA_LOOPBACK_REPORT_DIR set, every stop that no test declared expected is written
// there when the process exits, for the test runner to fail the run on.
//
// Plain JavaScript, so that it also loads with --import into processes without TypeScript (the
// CLI runs of the tests); loopback-guard.d.mts has its types.
import dns from 'node:dns';
import { mkdirSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import net from 'node:net';
import { join } from 'node:path';

/** @param {string} address */
export function isLoopback(address) {
  const plain = address.replace(/^\[|\]$/g, '').replace(/^::ffff:/, '');
  return plain === '::1' || (net.isIP(plain) === 4 && plain.startsWith('127.'));
}

/** @param {string} host */
function isLocalName(host) {
  const name = host.toLowerCase().replace(/\.$/, '');
  return name === 'localhost' || name.endsWith('.localhost');
}

let installed;

/** Installs the guard (once per process; later calls return the same guard). */
export function guardLoopback() {
  if (installed !== undefined) return installed;
  const blocked = [];
  const expected = [];
  const refuse = (host, address, code = 'ECONNREFUSED') => {
    blocked.push({ host, address });
    return Object.assign(new Error(`loopback guard: ${address === '(dns)' ? `lookup of ${host}` : `connect to ${host} (${address})`} stopped: tests stay on loopback`), { code });
  };

  // Names: only localhost names are looked up; anything else would be a DNS query leaving the machine.
  const originalLookup = dns.lookup;
  const guardedLookup = function lookup(hostname, options, callback) {
    const done = typeof options === 'function' ? options : callback;
    if (net.isIP(hostname) === 0 && !isLocalName(hostname)) {
      const error = refuse(hostname, '(dns)', 'ENOTFOUND');
      process.nextTick(() => done(error));
      return {};
    }
    return originalLookup.call(dns, hostname, options, callback);
  };
  const originalPromisesLookup = dns.promises.lookup;
  const guardedPromisesLookup = async function lookup(hostname, options) {
    if (net.isIP(hostname) === 0 && !isLocalName(hostname)) throw refuse(hostname, '(dns)', 'ENOTFOUND');
    return originalPromisesLookup.call(dns.promises, hostname, options);
  };
  dns.lookup = guardedLookup;
  dns.promises.lookup = guardedPromisesLookup;
  // Direct DNS queries (c-ares) go to the configured servers: none here.
  const resolverMethods = Object.getOwnPropertyNames(dns.Resolver.prototype).filter((name) => /^(resolve|reverse)/.test(name));
  const originals = new Map(resolverMethods.map((name) => [name, dns.Resolver.prototype[name]]));
  for (const name of resolverMethods) {
    dns.Resolver.prototype[name] = function refused(host, ...rest) {
      const callback = rest.find((a) => typeof a === 'function');
      const error = refuse(String(host), '(dns)', 'ENOTFOUND');
      if (callback) process.nextTick(() => callback(error));
      return undefined;
    };
  }
  syncBuiltinESMExports();

  const originalConnect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function connect(...args) {
    // net.connect() hands its already normalized arguments over as one array: [options, cb].
    if (Array.isArray(args[0])) {
      const normalized = args[0];
      const checked = guardOptions(this, normalized[0]);
      if (checked === 'refused') return this;
      normalized[0] = checked;
      return originalConnect.apply(this, args);
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
    return originalConnect.apply(this, args);
  };

  /** The connect options with the guard applied, or 'refused' (the socket is then destroyed). */
  function guardOptions(socket, given) {
    const options = given;
    if (options === null || typeof options !== 'object' || typeof options.path === 'string') return given;
    const host = options.host ?? 'localhost';
    if (net.isIP(host.replace(/^\[|\]$/g, '')) !== 0) {
      if (isLoopback(host)) return given;
      const error = refuse(host, host);
      process.nextTick(() => socket.destroy(error));
      return 'refused';
    }
    const lookup = options.lookup ?? dns.lookup;
    const guarded = (hostname, lookupOptions, callback) =>
      lookup(hostname, lookupOptions, (error, address, family) => {
        if (error) return callback(error, address, family);
        const addresses = Array.isArray(address) ? address.map((a) => a.address) : [address];
        const outside = addresses.find((a) => !isLoopback(a));
        if (outside !== undefined) return callback(refuse(hostname, outside), address, family);
        callback(null, address, family);
      });
    return { ...options, lookup: guarded };
  }

  const reportDir = process.env.FA_LOOPBACK_REPORT_DIR;
  if (reportDir) {
    process.on('exit', () => {
      const unexpected = blocked.filter((entry) => !expected.some((isExpected) => isExpected(entry)));
      if (unexpected.length === 0) return;
      mkdirSync(reportDir, { recursive: true });
      writeFileSync(join(reportDir, `${process.pid}.json`), JSON.stringify({ pid: process.pid, argv: process.argv.slice(1), blocked: unexpected }));
    });
  }

  installed = {
    blocked,
    expect(predicate) {
      expected.push(predicate);
    },
    uninstall() {
      net.Socket.prototype.connect = originalConnect;
      dns.lookup = originalLookup;
      dns.promises.lookup = originalPromisesLookup;
      for (const [name, method] of originals) dns.Resolver.prototype[name] = method;
      syncBuiltinESMExports();
      installed = undefined;
    },
  };
  return installed;
}
