/**
 * Runs a command under GNU time and reads what the kernel accounted for it: wall time, user
 * and system CPU seconds, and peak resident set size (of the largest process in the tree).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Measurement {
  wallSeconds: number;
  cpuSeconds: number;
  peakRssMiB: number;
  exitCode: number;
}

export interface CommandSpec {
  command: string;
  args: readonly string[];
  env?: Record<string, string | undefined>;
  cwd?: string;
}

const GNU_TIME = '/usr/bin/time';

export async function measure(spec: CommandSpec): Promise<Measurement> {
  const dir = await mkdtemp(join(tmpdir(), 'fa-bench-'));
  const out = join(dir, 'time.txt');
  try {
    const stderr: string[] = [];
    const started = process.hrtime.bigint();
    const exitCode = await new Promise<number>((resolve, reject) => {
      const child = spawn(GNU_TIME, ['-f', '%e %U %S %M', '-o', out, spec.command, ...spec.args], {
        cwd: spec.cwd,
        env: { ...process.env, ...spec.env },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk));
      child.once('error', reject);
      child.once('close', (code) => resolve(code ?? 1));
    });
    const wall = Number(process.hrtime.bigint() - started) / 1e9;
    const text = (await readFile(out, 'utf8')).trim().split('\n').at(-1) ?? '';
    const [, user, sys, rssKiB] = text.split(' ').map(Number);
    if (exitCode !== 0) throw new Error(`${spec.command} ${spec.args.join(' ')} exited ${exitCode}: ${stderr.join('').slice(-2000)}`);
    return { wallSeconds: wall, cpuSeconds: (user ?? 0) + (sys ?? 0), peakRssMiB: (rssKiB ?? 0) / 1024, exitCode };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
