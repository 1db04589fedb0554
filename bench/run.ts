/**
 * Benchmarks: `pnpm bench [case-id-prefix ...] [--rounds N]`. Starts Ceph RGW (unless
 * FA_TEST_S3_* point at one) and nginx, makes the data, bundles the CLI as the image ships it,
 * runs every contender of a case alternately (A B C, C B A, ...), checks each run did the
 * work, and writes medians and ratios to bench/RESULTS.md. Not a test: nothing here passes or
 * fails on time.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { fetchLargeAzureCase, startBenchAzurite, type BenchAzurite } from './cases/azure.ts';
import { fetchCappedCases, startCappedProxy, type CappedProxy } from './cases/capped.ts';
import { coldStartCase } from './cases/cold-start.ts';
import { fetchLargeCases, fetchManySmallCase } from './cases/fetch.ts';
import { uploadLargeCases, uploadManyCases } from './cases/upload.ts';
import type { BenchCase, CaseResult } from './lib/case.ts';
import { BUNDLE, NODE_24, ROOT, WORK, createContext, findAwsCliV1 } from './lib/context.ts';
import { measure, median } from './lib/measure.ts';
import { startNginx } from './lib/nginx.ts';
import { startRgw } from './lib/servers.ts';
import { freePort } from '@flink-artifacts/test-helpers/s3';

// Benches send packets to loopback only: no cloud metadata lookups by the SDKs' credential chains,
// in this process or in the contenders it starts (they inherit the environment).
process.env.AWS_EC2_METADATA_DISABLED = 'true';
process.env.METADATA_SERVER_DETECTION = 'none';
// The SDK's note about the Node versions it will drop is not a bench figure.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const argv = process.argv.slice(2);
const roundsFlag = argv.indexOf('--rounds');
const rounds = roundsFlag === -1 ? 3 : Number(argv[roundsFlag + 1]);
const filters = argv.filter((arg, i) => !arg.startsWith('--') && argv[i - 1] !== '--rounds');
const wanted = (id: string): boolean => filters.length === 0 || filters.some((f) => id.startsWith(f));

const MiB = 1024 * 1024;
const env = process.env;
await mkdir(WORK, { recursive: true });
execFileSync(process.execPath, [join(ROOT, 'packages', 'cli', 'scripts', 'bundle.mjs'), BUNDLE], { stdio: 'inherit' });
const oursNode = existsSync(NODE_24) ? NODE_24 : process.execPath;
const rgw = env.FA_TEST_S3_ENDPOINT
  ? { endpoint: env.FA_TEST_S3_ENDPOINT, accessKey: env.FA_TEST_S3_ACCESS_KEY!, secretKey: env.FA_TEST_S3_SECRET_KEY!, stop: async () => undefined }
  : await startRgw();
const bucket = `bench-${Date.now().toString(36)}`;
const context = createContext({ ...rgw, bucket, rounds, oursNode });
await context.s3.send(new CreateBucketCommand({ Bucket: bucket }));
const nginx = await startNginx(join(WORK, 'data'), join(WORK, 'nginx'));
let azurite: BenchAzurite | undefined;
const capped: CappedProxy[] = [];

const results: CaseResult[] = [];
try {
  const cases: BenchCase[] = [];
  const largeSizes = [256 * MiB, 1024 * MiB];
  if (wanted('fetch-many-small')) cases.push(await fetchManySmallCase(context));
  if (wanted('fetch-large')) cases.push(...(await fetchLargeCases(context, nginx.url, largeSizes)).filter((c) => wanted(c.id)));
  if (wanted('upload-skip') || wanted('upload-many')) cases.push(...(await uploadManyCases(context)).filter((c) => wanted(c.id)));
  if (wanted('upload-large')) cases.push(...(await uploadLargeCases(context, largeSizes)).filter((c) => wanted(c.id)));
  if (wanted('fetch-large-azure')) {
    azurite = await startBenchAzurite(await freePort());
    cases.push(await fetchLargeAzureCase(context, azurite, 1024 * MiB));
  }
  if (wanted('fetch-capped')) {
    const s3Proxy = await startCappedProxy(context.endpoint);
    const httpProxy = await startCappedProxy(nginx.url);
    capped.push(s3Proxy, httpProxy);
    cases.push(...(await fetchCappedCases(context, s3Proxy.url, httpProxy.url, 1024 * MiB)).filter((c) => wanted(c.id)));
  }
  if (wanted('cold-start')) cases.push(await coldStartCase(context));

  for (const benchCase of cases) {
    process.stderr.write(`\n# ${benchCase.title} (${benchCase.id})\n`);
    const rows = benchCase.contenders.map((c) => ({ name: c.name, ours: c.ours, runs: [] as Awaited<ReturnType<typeof measure>>[] }));
    for (let round = 0; round < benchCase.rounds; round++) {
      // Alternate the order so that no contender always runs on a warmer (or busier) machine.
      const order = round % 2 === 0 ? benchCase.contenders : [...benchCase.contenders].reverse();
      for (const contender of order) {
        await contender.prepare?.(round);
        // Flush what earlier runs left dirty in the page cache: the kernel's writeback of the
        // previous gigabyte must not be billed to the next contender.
        execFileSync('sync');
        const run = await measure(await contender.command(round));
        await benchCase.verify?.(contender.name, round);
        rows.find((r) => r.name === contender.name)!.runs.push(run);
        process.stderr.write(`  ${contender.name.padEnd(52)} round ${round + 1}: ${run.wallSeconds.toFixed(2)} s wall, ${run.cpuSeconds.toFixed(2)} s CPU, ${run.peakRssMiB.toFixed(0)} MiB\n`);
      }
    }
    results.push({ id: benchCase.id, title: benchCase.title, rows });
  }
} finally {
  await nginx.stop();
  await azurite?.stop();
  for (const proxy of capped) await proxy.stop();
  // Leave the server as it was: the bench writes gigabytes.
  spawnSync(context.aws(['s3', 'rb', '--force', `s3://${bucket}`]).command, context.aws(['s3', 'rb', '--force', `s3://${bucket}`]).args, {
    env: { ...process.env, ...context.aws([]).env },
    stdio: 'ignore',
  });
  await rgw.stop();
}

// Results accumulate by case: a run of some cases replaces those and keeps the others.
const store = join(ROOT, 'bench', 'results', 'latest.json');
const previous = JSON.parse(await readFile(store, 'utf8').catch(() => '{"cases":[]}')) as { cases: (CaseResult & { date: string; command: string })[] };
const today = new Date().toISOString().slice(0, 10);
const command = `pnpm bench${argv.length ? ` ${argv.join(' ')}` : ''}`;
const merged = [
  ...previous.cases.filter((c) => !results.some((r) => r.id === c.id)),
  ...results.map((r) => ({ ...r, date: today, command })),
];
const order = ['fetch-many-small', 'fetch-large-s3-256MiB', 'fetch-large-http-256MiB', 'fetch-large-s3-1GiB', 'fetch-large-http-1GiB', 'fetch-large-azure-1GiB', 'fetch-capped-s3-1GiB', 'fetch-capped-http-1GiB', 'upload-skip', 'upload-many-new', 'upload-large-256MiB', 'upload-large-1GiB', 'cold-start'];
merged.sort((a, b) => order.indexOf(a.id) - order.indexOf(b.id));
await mkdir(join(ROOT, 'bench', 'results'), { recursive: true });
await writeFile(store, `${JSON.stringify({ cases: merged }, null, 2)}\n`);
await writeFile(join(ROOT, 'bench', 'RESULTS.md'), render(merged));
process.stderr.write(`\nwrote bench/RESULTS.md\n`);

function azuriteVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(ROOT, 'node_modules', 'azurite', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

function awsV1Line(): string {
  const v1 = findAwsCliV1();
  return v1 === undefined ? '' : ` and ${version(v1, ['--version']).split(' ')[0]} (${v1})`;
}

function version(command: string, args: string[]): string {
  try {
    const result = spawnSync(command, args, { encoding: 'utf8' });
    return (result.stdout.trim() || result.stderr.trim()).split('\n')[0] || 'not installed';
  } catch {
    return 'not installed';
  }
}

function render(caseResults: (CaseResult & { date: string; command: string })[]): string {
  const lines = [
    '# Benchmark results',
    '',
    'Written by `pnpm bench` (bench/run.ts); each case says when and with which command it ran. The raw figures are in `results/latest.json`; `results/2026-11-28-baseline.md` is the first run, before the optimisations.',
    '',
    `- Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB RAM, ${version('uname', ['-sr'])}. The servers share the 2 cores with the client.`,
    `- Ours: the bundled CLI (what the image runs) on Node ${version(oursNode, ['--version'])}. Contenders: ${version('/usr/bin/aws', ['--version']).split(' ')[0]}${awsV1Line()}, ${version('curl', ['--version']).split(' ').slice(0, 2).join(' ')}.`,
    `- S3: Ceph RADOS Gateway (${version('radosgw', ['--version']).replace(/ \(.*/, '')}), one node on loopback, BlueStore on a sparse file. HTTP: ${version('nginx', ['-v']).replace('nginx version: ', '')} on loopback, sendfile on. Azure: Azurite ${azuriteVersion()} (blob service, on loopback, blobs on disk).`,
    `- \`sync\` runs (untimed) before every measured run, so that no run pays for the page cache another left dirty.`,
    `- Medians of the rounds per contender, contenders alternating (A B C, C B A, ...). Wall and CPU (user + system) seconds, peak RSS (the largest process of the command) from GNU time. Each run is checked to have done the work (files and bytes in place, objects in the bucket).`,
    '',
  ];
  for (const result of caseResults) {
    const ours = result.rows.find((r) => r.ours)!;
    const oursWall = median(ours.runs.map((r) => r.wallSeconds));
    const oursCpu = median(ours.runs.map((r) => r.cpuSeconds));
    lines.push(`## ${result.title}`, '', '| Contender | Wall (s) | CPU (s) | Peak RSS (MiB) | Ours ÷ this, wall | Ours ÷ this, CPU |', '|---|---:|---:|---:|---:|---:|');
    for (const row of result.rows) {
      const wall = median(row.runs.map((r) => r.wallSeconds));
      const cpu = median(row.runs.map((r) => r.cpuSeconds));
      const rss = Math.max(...row.runs.map((r) => r.peakRssMiB));
      const ratio = (a: number, b: number): string => (row === ours ? '1.00' : b > 0 ? (a / b).toFixed(2) : '—');
      lines.push(`| ${row.ours ? `**${row.name}**` : row.name} | ${wall.toFixed(2)} | ${cpu.toFixed(2)} | ${rss.toFixed(0)} | ${ratio(oursWall, wall)} | ${ratio(oursCpu, cpu)} |`);
    }
    lines.push('', `Rounds: ${ours.runs.length}. Run on ${result.date} with \`${result.command}\`.`, '');
  }
  const memory = caseResults.filter((r) => /^(fetch-large-s3|fetch-large-http|upload-large)-/.test(r.id));
  if (memory.length > 0) {
    lines.push('## Memory: peak RSS of ours by object size', '', '| Case | Peak RSS (MiB) |', '|---|---:|');
    for (const result of memory) lines.push(`| ${result.title} | ${Math.max(...result.rows.find((r) => r.ours)!.runs.map((r) => r.peakRssMiB)).toFixed(0)} |`);
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}
