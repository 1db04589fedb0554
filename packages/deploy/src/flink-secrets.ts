import { ConfigError, splitFlinkList, type FlinkConfig } from '@flink-artifacts/core';

/** `kubernetes.secrets`: Secrets mounted as files, `name:path,...`. */
export const SECRETS_KEY = 'kubernetes.secrets';
/** `kubernetes.env.secretKeyRef`: Secret keys as environment, `env:X,secret:s,key:k;...`. */
export const SECRET_KEY_REF_KEY = 'kubernetes.env.secretKeyRef';
/** `containerized.master.env.NAME=value`: literal environment of the JobManager. */
export const MASTER_ENV_PREFIX = 'containerized.master.env.';

/** A Secret mounted as files at a path. */
export interface SecretMount {
  readonly secret: string;
  readonly path: string;
}

/** An environment variable taken from a Secret's key. */
export interface SecretEnv {
  readonly env: string;
  readonly secret: string;
  readonly key: string;
}

const SECRET_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
const SECRET_DATA_KEY = /^[-._a-zA-Z0-9]+$/;

/**
 * Parses `kubernetes.secrets` as Flink does (`foo:/opt/secrets-foo,bar:/opt/secrets-bar`).
 *
 * @throws ConfigError naming the key and the entry.
 */
export function readSecretMounts(config: FlinkConfig): SecretMount[] {
  const value = config.get(SECRETS_KEY);
  if (value === undefined || value.trim() === '') return [];
  return splitFlinkList(value, ',', SECRETS_KEY).map((entry, index) => {
    const colon = entry.indexOf(':');
    const secret = entry.slice(0, colon).trim();
    const path = entry.slice(colon + 1).trim();
    if (colon === -1 || !SECRET_NAME.test(secret) || !path.startsWith('/')) {
      throw new ConfigError(`entry ${index + 1} of ${SECRETS_KEY} must be <secret name>:<absolute path>, got ${JSON.stringify(entry)}`, { key: SECRETS_KEY });
    }
    return { secret, path };
  });
}

/**
 * Parses `kubernetes.env.secretKeyRef` as Flink does
 * (`env:SECRET_USERNAME,secret:mysecret,key:username;env:...`).
 *
 * @throws ConfigError naming the key and the entry.
 */
export function readSecretEnv(config: FlinkConfig): SecretEnv[] {
  const value = config.get(SECRET_KEY_REF_KEY);
  if (value === undefined || value.trim() === '') return [];
  return splitFlinkList(value, ';', SECRET_KEY_REF_KEY).map((entry, index) => {
    const fields = new Map<string, string>();
    for (const part of splitFlinkList(entry, ',', SECRET_KEY_REF_KEY)) {
      const colon = part.indexOf(':');
      if (colon !== -1) fields.set(part.slice(0, colon).trim(), part.slice(colon + 1).trim());
    }
    const env = fields.get('env') ?? '';
    const secret = fields.get('secret') ?? '';
    const key = fields.get('key') ?? '';
    if (!ENV_NAME.test(env) || !SECRET_NAME.test(secret) || !SECRET_DATA_KEY.test(key)) {
      throw new ConfigError(`entry ${index + 1} of ${SECRET_KEY_REF_KEY} must be env:<NAME>,secret:<secret name>,key:<key>`, {
        key: SECRET_KEY_REF_KEY,
        hint: 'for example env:AWS_SECRET_ACCESS_KEY,secret:s3-credentials,key:secret-key',
      });
    }
    return { env, secret, key };
  });
}

/** `containerized.master.env.*` as literal variables, in key order. */
export function readMasterEnv(config: FlinkConfig): { name: string; value: string }[] {
  return [...config.entries()]
    .filter(([key]) => key.startsWith(MASTER_ENV_PREFIX) && key.length > MASTER_ENV_PREFIX.length)
    .map(([key, value]) => ({ name: key.slice(MASTER_ENV_PREFIX.length), value }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
