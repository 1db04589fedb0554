import { UsageError, resolveFlinkConfig, secretValues, unknownKeyWarnings, withSecretEnvironment, type FlinkConfig, type FlinkVersion } from '@flink-artifacts/core';
import { resolve } from 'node:path';
import type { Argv, Options } from 'yargs';
import { dynamicProperties } from './argv.ts';
import type { OwnOptionSpec } from './flink-run-argv.ts';
import type { CliIo } from './io.ts';

/** The options every command shares: Flink's -D and the config directory. */
export interface FlinkArgs {
  D?: unknown;
  confDir?: string | undefined;
}

/** `-D` and `--conf-dir`, as yargs options. */
export const FLINK_OPTIONS = {
  D: {
    type: 'string',
    requiresArg: true,
    description: 'A Flink option, key=value (repeatable, also as -Dkey=value)',
  },
  'conf-dir': {
    type: 'string',
    requiresArg: true,
    description: 'Directory with Flink\'s config.yaml or flink-conf.yaml [default: $FLINK_CONF_DIR, else $FLINK_HOME/conf]',
  },
} as const satisfies Record<string, Options>;

/** Adds `-D` and `--conf-dir` to a command. */
export function withFlinkOptions<T>(yargs: Argv<T>): Argv<T & FlinkArgs> {
  return yargs.options(FLINK_OPTIONS) as unknown as Argv<T & FlinkArgs>;
}

/** What the argv splitter needs to know of yargs option records: names and whether they take a value. */
export function ownOptionSpecs(...records: Record<string, Options>[]): OwnOptionSpec[] {
  const specs: OwnOptionSpec[] = [
    { names: ['help', 'h'], takesValue: false },
    { names: ['version'], takesValue: false },
  ];
  for (const record of records) {
    for (const [name, options] of Object.entries(record)) {
      const alias = options.alias === undefined ? [] : Array.isArray(options.alias) ? options.alias : [options.alias];
      specs.push({ names: [name, ...alias], takesValue: options.type !== 'boolean' });
    }
  }
  return specs;
}

/** A positive integer option, or a usage error naming it. */
export function positiveInteger(value: unknown, name: string, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new UsageError(`--${name} must be a whole number from 1 to ${max}, got ${String(value)}`);
  return n;
}

/** Environment variables whose values are credentials the SDKs read themselves. */
const SECRET_ENV = ['AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'];

/**
 * Resolved configuration as `bin/flink` resolves it (the conf dir of `--conf-dir`,
 * `FLINK_CONF_DIR` or `$FLINK_HOME/conf`, the file that Flink version reads, then -D), secrets
 * from the environment folded in, and every secret value in it pushed to `secrets` for output
 * redaction.
 */
export async function loadConfig(args: FlinkArgs, io: CliIo, secrets: string[], flinkVersion?: FlinkVersion): Promise<FlinkConfig> {
  const resolved = await resolveFlinkConfig({
    dynamicProperties: dynamicProperties(args.D),
    ...(args.confDir === undefined ? {} : { confDir: resolve(io.cwd, args.confDir) }),
    ...(flinkVersion === undefined ? {} : { flinkVersion }),
    env: io.env,
  });
  const config = withSecretEnvironment(resolved.config, io.env);
  for (const warning of unknownKeyWarnings(resolved.config)) io.stderr.write(`flink-artifacts: warning: ${warning}\n`);
  secrets.push(...secretValues(config));
  for (const name of SECRET_ENV) {
    const value = io.env[name];
    if (value) secrets.push(value);
  }
  return config;
}
