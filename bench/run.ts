/**
 * Benchmarks: `pnpm bench [case-id-prefix ...] [--rounds N]`. Starts Ceph RGW (unless
 * FA_TEST_S3_* point at one), makes the data, runs every contender of a case alternately
 * (A B A B ...), and writes medians and ratios to bench/RESULTS.md. Not a test: nothing here
 * passes or fails on time.
 */
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { uploadLargeCases } from './cases/upload-large.ts';
import type { BenchCase, CaseResult } from './lib/case.ts';
import { createContext, ROOT } from './lib/context.ts';
import { measure, median } from './lib/measure.ts';
import { startRgw } from './lib/servers.ts';

const argv = process.argv.slice(2);
const roundsFlag = argv.indexOf('--rounds');
const rounds = roundsFlag === -1 ? 3 : Number(argv[roundsFlag + 1]);
const filters = argv.filter((arg, i) => !arg.startsWith('--') && argv[i - 1] !== '--rounds');

const env = process.env;
const rgw = env.FA_TEST_S3_ENDPOINT
  ? { endpoint: env.FA_TEST_S3_ENDPOINT, accessKey: env.FA_TEST_S3_ACCESS_KEY!, secretKey: env.FA_TEST_S3_SECRET_KEY!, stop: async () => undefined }
  : await startRgw();
const bucket = `bench-${Date.now().toString(36)}`;
const context = createContext({ ...rgw, bucket, rounds });
await context.s3.send(new CreateBucketCommand({ Bucket: bucket }));

const MiB = 1024 * 1024;
const all: BenchCase[] = [...uploadLargeCases(context, [256 * MiB, 1024 * MiB])];
const selected = filters.length === 0 ? all : all.filter((c) => filters.some((f) => c.id.startsWith(f)));

const results: CaseResult[] = [];
try {
  for (const benchCase of selected) {
    process.stderr.write(`\n# ${benchCase.title} (${benchCase.id})\n`);
    const rows = benchCase.contenders.map((c) => ({ name: c.name, ours: c.ours, runs: [] as Awaited<ReturnType<typeof measure>>[] }));
    for (let round = 0; round < benchCase.rounds; round++) {
      // Alternate the order so that neither contender always runs on a warmer cache.
      const order = round % 2 === 0 ? benchCase.contenders : [...benchCase.contenders].reverse();
      for (const contender of order) {
        await contender.prepare?.(round);
        const run = await measure(await contender.command(round));
        await benchCase.verify?.(contender.name, round);
        rows.find((r) => r.name === contender.name)!.runs.push(run);
        process.stderr.write(`  ${contender.name.padEnd(36)} round ${round + 1}: ${run.wallSeconds.toFixed(2)} s wall, ${run.cpuSeconds.toFixed(2)} s CPU, ${run.peakRssMiB.toFixed(0)} MiB peak RSS\n`);
      }
    }
    results.push({ id: benchCase.id, title: benchCase.title, rows });
  }
} finally {
  await rgw.stop();
}

await writeFile(join(ROOT, 'bench', 'RESULTS.md'), render(results));
process.stderr.write(`\nwrote bench/RESULTS.md\n`);

function render(caseResults: CaseResult[]): string {
  const version = (command: string, args: string[]): string => {
    try {
      return execFileSync(command, args, { encoding: 'utf8' }).trim().split('\n')[0] ?? '?';
    } catch {
      return 'not installed';
    }
  };
  const lines = [
    '# Benchmark results',
    '',
    `Run on ${new Date().toISOString().slice(0, 10)} with \`pnpm bench${argv.length ? ` ${argv.join(' ')}` : ''}\`.`,
    '',
    `- Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB RAM, ${version('uname', ['-sr'])}`,
    `- Node ${process.version}; ${version('/usr/bin/aws', ['--version'])}; ${version('curl', ['--version'])}`,
    `- S3 server: Ceph RADOS Gateway ${version('radosgw', ['--version'])}, one node on loopback, BlueStore on a sparse file; the server shares the 2 cores with the client.`,
    `- Medians of ${rounds} rounds per contender, contenders alternating (A B, B A, ...). Wall and CPU (user + system) seconds and peak RSS from GNU time.`,
    '',
  ];
  for (const result of caseResults) {
    const ours = result.rows.find((r) => r.ours)!;
    const oursWall = median(ours.runs.map((r) => r.wallSeconds));
    lines.push(`## ${result.title}`, '', '| Contender | Wall (s) | CPU (s) | Peak RSS (MiB) | Ours ÷ this (wall) |', '|---|---:|---:|---:|---:|');
    for (const row of result.rows) {
      const wall = median(row.runs.map((r) => r.wallSeconds));
      const cpu = median(row.runs.map((r) => r.cpuSeconds));
      const rss = Math.max(...row.runs.map((r) => r.peakRssMiB));
      lines.push(`| ${row.ours ? `**${row.name}**` : row.name} | ${wall.toFixed(2)} | ${cpu.toFixed(2)} | ${rss.toFixed(0)} | ${row === ours ? '1.00' : (oursWall / wall).toFixed(2)} |`);
    }
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}
