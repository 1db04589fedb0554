// The process boundary: the only module with side effects (signals, exit code, env, V8).
import * as module from 'node:module';
import * as v8 from 'node:v8';

// A small young generation: streamed chunks die young and their buffers are released at each
// scavenge, instead of piling up as external memory until a full collection. Measured on a
// 1 GiB download: peak RSS 159 -> 130 MiB and a third less CPU (bench/RESULTS.md).
v8.setFlagsFromString('--max-semi-space-size=1');
v8.setFlagsFromString('--semi-space-growth-factor=1');
// Node >= 22.1: keep V8's compiled code between runs (NODE_COMPILE_CACHE, or the temp dir).
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();

// `--version` alone: answered before the commands and their packages are loaded, so that it
// costs about what starting Node costs.
const args = process.argv.slice(2);
if (args.length === 1 && args[0] === '--version') {
  const { VERSION } = await import('./version.ts');
  process.stdout.write(`${VERSION}\n`);
  process.exit(0);
}

const { main } = await import('./main.ts');

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
