#!/usr/bin/env node
// Bundles the CLI into one ESM entry file plus chunks loaded on demand, every dependency inside
// (no node_modules tree): what the init-container image runs. A fetch loads the entry and what
// it needs; each storage driver's SDK (AWS, Google, Azure, got) and the deploy code (Kubernetes
// models, YAML) are chunks of their own, loaded only for the schemes and commands in use.
// Usage: node scripts/bundle.mjs [entry file]   (chunks go to chunks/ beside it)
import { createRequire } from 'node:module';
import { build } from 'esbuild';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const outfile = process.argv[2] ?? join(here, '..', 'dist-bundle', 'flink-artifacts.mjs');
const outdir = dirname(outfile);
// Chunks of an earlier bundle would linger beside the new ones.
await rm(join(outdir, 'chunks'), { recursive: true, force: true });

const result = await build({
  entryPoints: { [basename(outfile, extname(outfile))]: join(here, '..', 'src', 'bin.ts') },
  outdir,
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunks/[name]-[hash]',
  splitting: true,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  // CommonJS dependencies (the SDKs) call require(); give each ESM output file one.
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
// One file of third-party licenses beside the entry, instead of one per chunk.
const legal = Object.keys(result.metafile.outputs).filter((name) => name.endsWith('.LEGAL.txt')).sort();
const notices = await Promise.all(legal.map((name) => readFile(name, 'utf8')));
await writeFile(`${outfile}.LEGAL.txt`, notices.join('\n'));
await Promise.all(legal.filter((name) => !name.endsWith(`${basename(outfile)}.LEGAL.txt`)).map((name) => rm(name, { force: true })));
const outputs = Object.entries(result.metafile.outputs).filter(([name]) => name.endsWith('.mjs'));
const bytes = outputs.reduce((sum, [, output]) => sum + output.bytes, 0);
const entryBytes = outputs.find(([name]) => name.endsWith(basename(outfile)))?.[1].bytes ?? 0;
process.stdout.write(`bundled ${outfile} (entry ${(entryBytes / 1024 / 1024).toFixed(1)} MiB, ${outputs.length - 1} chunks, ${(bytes / 1024 / 1024).toFixed(1)} MiB in all)\n`);
