// A TCP proxy that caps each connection's download (server -> client) at a rate, modelling a
// cloud store where one connection carries on the order of 100 MB/s and more come from more
// connections. Uploads pass unpaced. Its own process, so that pacing never competes with the
// bench's event loop. Usage: throttle-proxy.mjs LISTEN_PORT UPSTREAM_HOST:PORT BYTES_PER_SECOND
import net from 'node:net';
import { Transform } from 'node:stream';

const [listenPort, upstream, rateText] = process.argv.slice(2);
const [upstreamHost, upstreamPort] = upstream.split(':');
const rate = Number(rateText);

/** Lets bytes through no faster than `rate` per second: each chunk goes when the bytes before it are due. */
function pacer() {
  const started = Date.now();
  let sent = 0;
  return new Transform({
    transform(chunk, _encoding, callback) {
      sent += chunk.length;
      const due = started + (sent / rate) * 1000;
      const wait = due - Date.now();
      if (wait <= 0) callback(null, chunk);
      else setTimeout(() => callback(null, chunk), wait);
    },
  });
}

const server = net.createServer((client) => {
  const server = net.connect(Number(upstreamPort), upstreamHost);
  const close = () => {
    client.destroy();
    server.destroy();
  };
  client.on('error', close);
  server.on('error', close);
  client.pipe(server);
  server.pipe(pacer()).pipe(client);
});
server.listen(Number(listenPort), '127.0.0.1', () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => process.exit(0));
