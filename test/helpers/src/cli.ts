/** Runs the built `flink-artifacts` command as a real process. */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Path of the installed command's entry point. Needs `pnpm build` first. */
export const CLI_BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'packages', 'cli', 'bin', 'flink-artifacts.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliRun {
  child: ChildProcess;
  /** Resolves when the process ends. */
  result: Promise<CliResult>;
}

export interface RunCliOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
}

/** Starts the command; use `result` to wait, `child` to signal it. */
export function startCli(args: readonly string[], options: RunCliOptions = {}): CliRun {
  const child = spawn(process.execPath, [CLI_BIN, ...args], {
    cwd: options.cwd ?? process.cwd(),
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const result = new Promise<CliResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, result };
}

/** Runs the command to completion. */
export function runCli(args: readonly string[], options: RunCliOptions = {}): Promise<CliResult> {
  return startCli(args, options).result;
}

/** Flink options as command-line arguments: `-Dkey=value` each. */
export function flinkArgs(options: Record<string, string>): string[] {
  return Object.entries(options).map(([key, value]) => `-D${key}=${value}`);
}
