import { stat } from 'node:fs/promises';
import { readRegularTextFile } from './checksum.ts';
import { join } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { ConfigError } from './errors.ts';
import { formatFlinkList } from './flink-values.ts';
import { isAtLeast, type FlinkVersion } from './flink-version.ts';

/**
 * Flink configuration as Flink's `Configuration` holds it: flat keys to string values. Typed
 * reads go through the helpers in `options.ts`, which name the key in every error.
 */
export type FlinkConfig = ReadonlyMap<string, string>;

/** The Flink 2.x config file (standard YAML, nested or flat keys). Preferred when both exist. */
export const CONFIG_YAML = 'config.yaml';
/** The Flink 1.x config file (line-based `key: value`, not real YAML). */
export const LEGACY_CONFIG_YAML = 'flink-conf.yaml';

/** Where a configuration came from, for messages and for tests. */
export interface LoadedConfigFile {
  /** Absolute path of the file read. */
  readonly path: string;
  readonly config: FlinkConfig;
}

/**
 * Keys whose Flink type is a map: a YAML mapping under one of them is the option's value
 * (`Name:Value,...`), not more nesting.
 */
const MAP_TYPED_KEYS = new Set([
  'user.artifacts.http-headers',
  'kubernetes.secrets',
  'kubernetes.jobmanager.annotations',
  'kubernetes.jobmanager.labels',
  'kubernetes.jobmanager.node-selector',
]);

/**
 * Parses `-D` values (`key=value`). The first `=` splits; the value may be empty or contain `=`.
 *
 * @throws ConfigError for an entry without `=` or with an empty key.
 */
export function parseDynamicProperties(entries: readonly string[]): Map<string, string> {
  const config = new Map<string, string>();
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    const key = eq === -1 ? '' : entry.slice(0, eq).trim();
    if (key === '') {
      // What follows a ':' or a space may be a value meant for the key (`-Ds3.secret-key:V`):
      // never echoed.
      const shown = eq === -1 ? entry.replace(/[:\s].*$/s, (separator) => `${separator[0]}***`) : entry.slice(0, eq + 1);
      throw new ConfigError(`-D expects key=value, got ${JSON.stringify(shown)}`, {
        hint: 'for example -Dkubernetes.cluster-id=my-cluster',
      });
    }
    config.set(key, entry.slice(eq + 1));
  }
  return config;
}

/**
 * Which config file a Flink version reads from its conf directory (`GlobalConfiguration`):
 * - before 1.19, `flink-conf.yaml` only (line-based);
 * - 1.19 and 1.20, `flink-conf.yaml` when present (for compatibility), else `config.yaml`;
 * - 2.x, `config.yaml` only (standard YAML; `flink-conf.yaml` is no longer read).
 * With no version known, `config.yaml` first, then `flink-conf.yaml`.
 */
export function configFileOrder(version: FlinkVersion | undefined): readonly string[] {
  if (version === undefined) return [CONFIG_YAML, LEGACY_CONFIG_YAML];
  if (isAtLeast(version, 2, 0)) return [CONFIG_YAML];
  if (isAtLeast(version, 1, 19)) return [LEGACY_CONFIG_YAML, CONFIG_YAML];
  return [LEGACY_CONFIG_YAML];
}

/**
 * Reads Flink's config file from a directory, choosing the file as the given Flink version does
 * (see {@link configFileOrder}).
 *
 * @throws ConfigError when the directory or the file is missing, or the file does not parse.
 */
export async function loadFlinkConfigDir(confDir: string, version?: FlinkVersion): Promise<LoadedConfigFile> {
  const dirStat = await stat(confDir).catch(() => undefined);
  if (!dirStat?.isDirectory()) {
    throw new ConfigError(`Flink configuration directory ${confDir} does not exist or is not a directory`);
  }
  const order = configFileOrder(version);
  for (const name of order) {
    const path = join(confDir, name);
    let text: string;
    try {
      text = await readRegularTextFile(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new ConfigError(`cannot read ${path}: ${(error as Error).message}`, { cause: error });
    }
    const config = name === CONFIG_YAML ? parseStandardYaml(text, path) : parseLegacyFlinkConf(text);
    return { path, config };
  }
  if (version !== undefined && !order.includes(LEGACY_CONFIG_YAML) && (await stat(join(confDir, LEGACY_CONFIG_YAML)).catch(() => undefined))) {
    throw new ConfigError(`Flink ${version.text} reads only ${CONFIG_YAML}, and ${confDir} has only ${LEGACY_CONFIG_YAML}`, {
      hint: `convert it with Flink's bin/migrate-config-file.sh (Flink 1.19 or 1.20)`,
    });
  }
  throw new ConfigError(`no ${order.join(' or ')} in ${confDir}`);
}

/**
 * Parses Flink 2.x `config.yaml`: standard YAML whose nested mappings flatten to dotted keys,
 * lists become Flink lists (`a;b`), scalars become their text.
 *
 * @throws ConfigError naming the file for invalid YAML or a top level that is not a mapping.
 */
export function parseStandardYaml(text: string, path: string): Map<string, string> {
  let document: unknown;
  try {
    // Problems are errors or nothing: a warning printed by the YAML library is noise in a pod log.
    document = parseYaml(text, { uniqueKeys: false, logLevel: 'error' });
  } catch (error) {
    const where = error instanceof YAMLParseError && error.linePos ? ` at line ${error.linePos[0].line}` : '';
    throw new ConfigError(`${path} is not valid YAML${where}`, { cause: error });
  }
  const config = new Map<string, string>();
  if (document === null || document === undefined) return config;
  if (!isPlainObject(document)) throw new ConfigError(`${path} must be a YAML mapping of Flink options`);
  flatten(document, '', config, path);
  return config;
}

function flatten(node: Record<string, unknown>, prefix: string, into: Map<string, string>, path: string): void {
  for (const [name, value] of Object.entries(node)) {
    const key = prefix === '' ? name : `${prefix}.${name}`;
    if (value === null || value === undefined) continue;
    if (isPlainObject(value)) {
      if (MAP_TYPED_KEYS.has(key)) {
        into.set(key, Object.entries(value).map(([k, v]) => `${k}:${scalarText(v, key, path)}`).join(','));
      } else {
        flatten(value, key, into, path);
      }
    } else if (Array.isArray(value)) {
      into.set(key, formatFlinkList(value.map((item) => scalarText(item, key, path))));
    } else {
      into.set(key, scalarText(value, key, path));
    }
  }
}

function scalarText(value: unknown, key: string, path: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value instanceof Date) return value.toISOString();
  throw new ConfigError(`${key} in ${path} must be a scalar value`, { key });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/**
 * Parses Flink 1.x `flink-conf.yaml` exactly as Flink's legacy loader does: per line, drop what
 * follows `#`, split at the first `": "`, keep both sides trimmed and otherwise verbatim (quotes
 * included). Lines that do not split are ignored, as Flink ignores them.
 */
export function parseLegacyFlinkConf(text: string): Map<string, string> {
  const config = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const content = (line.split('#', 1)[0] ?? '').trim();
    if (content === '') continue;
    const sep = content.indexOf(': ');
    if (sep === -1) continue;
    const key = content.slice(0, sep).trim();
    const value = content.slice(sep + 2).trim();
    if (key !== '' && value !== '') config.set(key, value);
  }
  return config;
}

/** Options for {@link resolveFlinkConfig}. */
export interface ResolveFlinkConfigOptions {
  /** `-D` entries (`key=value`), highest precedence. */
  dynamicProperties?: readonly string[];
  /**
   * Directory holding `config.yaml`/`flink-conf.yaml`.
   * @default `env.FLINK_CONF_DIR`, else `$FLINK_HOME/conf` when `FLINK_HOME` is set
   */
  confDir?: string;
  /** Environment to read `FLINK_CONF_DIR` and `FLINK_HOME` from. @default `process.env` */
  env?: Readonly<Record<string, string | undefined>>;
  /** The Flink version whose file precedence applies (see {@link configFileOrder}). @default unknown */
  flinkVersion?: FlinkVersion;
}

/** The merged configuration and the file it came from, if any. */
export interface ResolvedFlinkConfig {
  readonly config: FlinkConfig;
  /** The config file read, if any. */
  readonly file: string | undefined;
  /** The directory it was looked for in, if any. */
  readonly confDir: string | undefined;
}

/**
 * The conf directory `bin/flink` uses (its `config.sh`): `FLINK_CONF_DIR` if set, else
 * `$FLINK_HOME/conf`. An explicit directory wins over both.
 */
export function flinkConfDir(explicit: string | undefined, env: Readonly<Record<string, string | undefined>>): string | undefined {
  if (explicit !== undefined) return explicit;
  if (env.FLINK_CONF_DIR) return env.FLINK_CONF_DIR;
  if (env.FLINK_HOME) return join(env.FLINK_HOME, 'conf');
  return undefined;
}

/**
 * Flink's precedence: the config file of the conf directory `bin/flink` would use, overridden
 * by `-D`. A conf directory that is asked for (flag, `FLINK_CONF_DIR`, `FLINK_HOME`) must exist
 * and hold the file its Flink version reads; without one, only `-D` counts.
 */
export async function resolveFlinkConfig(options: ResolveFlinkConfigOptions = {}): Promise<ResolvedFlinkConfig> {
  const env = options.env ?? process.env;
  const confDir = flinkConfDir(options.confDir, env);
  const merged = new Map<string, string>();
  let file: string | undefined;
  if (confDir !== undefined) {
    const loaded = await loadFlinkConfigDir(confDir, options.flinkVersion);
    file = loaded.path;
    for (const [key, value] of loaded.config) merged.set(key, value);
  }
  for (const [key, value] of parseDynamicProperties(options.dynamicProperties ?? [])) merged.set(key, value);
  return { config: merged, file, confDir };
}
