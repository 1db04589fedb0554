import { UsageError, resolveFlinkConfig, secretValues, withSecretEnvironment, type FlinkConfig } from '@flink-artifacts/core';
import type { Argv } from 'yargs';
import { dynamicProperties } from './argv.ts';
import type { CliIo } from './io.ts';

/** The options every command shares: Flink's -D and the config directory. */
export interface FlinkArgs {
  D?: unknown;
  confDir?: string | undefined;
}

/** Adds `-D` and `--conf-dir` to a command. */
export function withFlinkOptions<T>(yargs: Argv<T>): Argv<T & FlinkArgs> {
  return yargs
    .option('D', {
      type: 'string',
      requiresArg: true,
      description: 'A Flink option, key=value (repeatable, also as -Dkey=value)',
    })
    .option('conf-dir', {
      type: 'string',
      requiresArg: true,
      description: 'Directory with Flink\'s config.yaml or flink-conf.yaml [default: $FLINK_CONF_DIR]',
    }) as Argv<T & FlinkArgs>;
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
 * Resolved configuration (file, then -D, then secrets from the environment), and every secret
 * value in it pushed to `secrets` for output redaction.
 */
export async function loadConfig(args: FlinkArgs, io: CliIo, secrets: string[]): Promise<FlinkConfig> {
  const resolved = await resolveFlinkConfig({
    dynamicProperties: dynamicProperties(args.D),
    ...(args.confDir === undefined ? {} : { confDir: args.confDir }),
    env: io.env,
  });
  const config = withSecretEnvironment(resolved.config, io.env);
  secrets.push(...secretValues(config));
  for (const name of SECRET_ENV) {
    const value = io.env[name];
    if (value) secrets.push(value);
  }
  return config;
}
