// The process boundary: the only module with side effects (signals, exit code, env).
import { main } from './main.ts';

// The AWS SDK warns on Node 20 that its future releases need Node 22; ours is pinned, and the
// warning would land in every init container log.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const controller = new AbortController();
let signalled = 0;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    signalled++;
    // A second signal means "now": skip the cleanup.
    if (signalled > 1) process.exit(signal === 'SIGINT' ? 130 : 143);
    controller.abort(signal);
  });
}

const code = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
  signal: controller.signal,
});
process.exitCode = code;
// Keep-alive sockets of the SDKs may hold the event loop for a while after the work is done.
await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
process.exit(code);
