#!/usr/bin/env node
// Bundles the CLI into one ESM file with every dependency inside (no node_modules tree): what
// the init-container image runs. Usage: node scripts/bundle.mjs [outfile]
import { createRequire } from 'node:module';
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const outfile = process.argv[2] ?? join(here, '..', 'dist-bundle', 'flink-artifacts.mjs');

const result = await build({
  entryPoints: [join(here, '..', 'src', 'bin.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  // CommonJS dependencies (the SDKs) call require(); give the ESM bundle one.
  // Some dependencies require Node's deprecated built-in punycode (a warning in every log);
  // the userland package of the same code takes its place.
  // An absolute path: esbuild resolves aliases from the working directory, not from here.
  alias: { punycode: createRequire(import.meta.url).resolve('punycode/') },
  banner: { js: "import { createRequire as __faCreateRequire } from 'node:module'; const require = __faCreateRequire(import.meta.url);" },
  legalComments: 'linked',
  minifySyntax: true,
  minifyWhitespace: true,
  keepNames: true,
  sourcemap: false,
  metafile: true,
  logLevel: 'warning',
});
const bytes = Object.values(result.metafile.outputs).reduce((sum, output) => sum + output.bytes, 0);
process.stdout.write(`bundled ${outfile} (${(bytes / 1024 / 1024).toFixed(1)} MiB)\n`);
