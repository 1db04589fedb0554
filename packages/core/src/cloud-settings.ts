import type { FlinkConfig } from './config.ts';
import { checkEndpoint } from './endpoint.ts';
import { ConfigError } from './errors.ts';
import { readString, type S3Settings } from './options.ts';

/** Our keys for Azure beyond hadoop-azure's. */
export const AzureKeys = {
  /**
   * The Blob service URL to use instead of `https://<account>.blob.<suffix>`: an emulator
   * (Azurite: `http://127.0.0.1:10000/devstoreaccount1`) or a private endpoint.
   */
  endpoint: 'flink-artifacts.azure.endpoint',
} as const;

/** The environment variables of the Azure SDK's and CLI's conventions that we read. */
export const AZURE_ENV = {
  connectionString: 'AZURE_STORAGE_CONNECTION_STRING',
  accountKey: 'AZURE_STORAGE_KEY',
  sasToken: 'AZURE_STORAGE_SAS_TOKEN',
} as const;

/**
 * How to reach and authenticate to Azure Blob Storage, from Flink's (hadoop-azure's) keys and
 * the Azure SDK's environment. Credentials are looked up per account (and container), as the
 * keys name them; with none, the SDK's DefaultAzureCredential (workload identity, managed
 * identity, environment) is used.
 */
export interface AzureSettings {
  /**
   * `fs.azure.account.key.<account>.<dfs|blob>.<suffix>`, by `<account>.<suffix>` (the key of
   * one account in one cloud, for both of its services: never sent to another host), or `*`
   * for hadoop-azure's account-agnostic `fs.azure.account.key`; else `AZURE_STORAGE_KEY`.
   */
  readonly accountKeys: Readonly<Record<string, string>>;
  readonly envAccountKey: string | undefined;
  /**
   * SAS tokens: `fs.azure.sas.<container>.<account>.blob.<suffix>` (by
   * `<container>@<account>.<suffix>`), `fs.azure.sas.fixed.token.<account>.dfs.<suffix>` (by
   * `<account>.<suffix>`, or `*` for `fs.azure.sas.fixed.token`); else `AZURE_STORAGE_SAS_TOKEN`.
   */
  readonly containerSas: Readonly<Record<string, string>>;
  readonly accountSas: Readonly<Record<string, string>>;
  readonly envSas: string | undefined;
  /** `AZURE_STORAGE_CONNECTION_STRING`. */
  readonly connectionString: string | undefined;
  /** {@link AzureKeys.endpoint}. */
  readonly endpoint: string | undefined;
}

const ACCOUNT_KEY = /^fs\.azure\.account\.key\.([a-z0-9]{3,24})\.(?:dfs|blob)\.(.+)$/;
const CONTAINER_SAS = /^fs\.azure\.sas\.([a-z0-9][a-z0-9-]{1,61}[a-z0-9])\.([a-z0-9]{3,24})\.blob\.(.+)$/;
const ACCOUNT_SAS = /^fs\.azure\.sas\.fixed\.token\.([a-z0-9]{3,24})\.dfs\.(.+)$/;
/** hadoop-azure's account-agnostic forms, used when no key names the account. */
const ANY_ACCOUNT_KEY = 'fs.azure.account.key';
const ANY_ACCOUNT_SAS = 'fs.azure.sas.fixed.token';

/** @throws ConfigError for a malformed endpoint. */
export function readAzureSettings(config: FlinkConfig, env: Readonly<Record<string, string | undefined>> = process.env): AzureSettings {
  const accountKeys: Record<string, string> = {};
  const containerSas: Record<string, string> = {};
  const accountSas: Record<string, string> = {};
  for (const key of config.keys()) {
    const value = readString(config, key);
    if (value === undefined) continue;
    const account = ACCOUNT_KEY.exec(key);
    if (account !== null) accountKeys[`${account[1]}.${account[2]!.toLowerCase()}`] = value;
    const container = CONTAINER_SAS.exec(key);
    if (container !== null) containerSas[`${container[1]}@${container[2]}.${container[3]!.toLowerCase()}`] = value.replace(/^\?/, '');
    const fixed = ACCOUNT_SAS.exec(key);
    if (fixed !== null) accountSas[`${fixed[1]}.${fixed[2]!.toLowerCase()}`] = value.replace(/^\?/, '');
    if (key === ANY_ACCOUNT_KEY) accountKeys['*'] = value;
    if (key === ANY_ACCOUNT_SAS) accountSas['*'] = value.replace(/^\?/, '');
  }
  const given = readString(config, AzureKeys.endpoint);
  const endpoint = given === undefined ? undefined : checkEndpoint(given, AzureKeys.endpoint, { bare: false });
  return {
    accountKeys,
    envAccountKey: env[AZURE_ENV.accountKey] || undefined,
    containerSas,
    accountSas,
    envSas: env[AZURE_ENV.sasToken]?.replace(/^\?/, '') || undefined,
    connectionString: env[AZURE_ENV.connectionString] || undefined,
    endpoint: endpoint?.replace(/\/+$/, ''),
  };
}

/** Flink's OSS keys (flink-oss-fs-hadoop), and the region for endpoints that do not name one. */
export const OssKeys = {
  endpoint: 'fs.oss.endpoint',
  accessKeyId: 'fs.oss.accessKeyId',
  accessKeySecret: 'fs.oss.accessKeySecret',
  region: 'fs.oss.region',
} as const;

/** Alibaba Cloud's environment variables for an AccessKey pair, read when the keys are unset. */
export const OSS_ENV = { accessKeyId: 'OSS_ACCESS_KEY_ID', accessKeySecret: 'OSS_ACCESS_KEY_SECRET' } as const;

// OSS's own endpoints (what fs.oss.endpoint holds): oss-<region>[-internal].aliyuncs.com; its
// S3-compatible API answers at s3.oss-<region>[-internal].aliyuncs.com.
const OSS_NATIVE_HOST = /^(s3\.)?oss-([a-z0-9-]+?)(-internal)?\.aliyuncs\.com$/;

/**
 * Settings of the S3 driver for `oss://` (Alibaba Cloud OSS through its S3-compatible API), from
 * Flink's OSS keys. An OSS endpoint (`oss-cn-hangzhou.aliyuncs.com`) is turned into its
 * S3-compatible twin (`s3.oss-cn-hangzhou.aliyuncs.com`) and gives the signing region
 * (`cn-hangzhou`); any other endpoint (a custom domain, an S3-compatible stand-in) is used as it
 * is, with `fs.oss.region`.
 *
 * @throws ConfigError when only one of the key id and secret is set.
 */
export function readOssSettings(config: FlinkConfig, env: Readonly<Record<string, string | undefined>> = process.env): S3Settings {
  const given = readString(config, OssKeys.endpoint);
  const configured = given === undefined ? undefined : checkEndpoint(given, OssKeys.endpoint, { bare: true });
  let accessKey = readString(config, OssKeys.accessKeyId);
  let secretKey = readString(config, OssKeys.accessKeySecret);
  if ((accessKey === undefined) !== (secretKey === undefined)) {
    throw new ConfigError(`set both ${OssKeys.accessKeyId} and ${OssKeys.accessKeySecret}, or neither`, { key: accessKey === undefined ? OssKeys.accessKeyId : OssKeys.accessKeySecret });
  }
  if (accessKey === undefined) {
    accessKey = env[OSS_ENV.accessKeyId] || undefined;
    secretKey = env[OSS_ENV.accessKeySecret] || undefined;
  }
  let endpoint = configured;
  let region = readString(config, OssKeys.region);
  if (configured !== undefined) {
    const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(configured)?.[0] ?? '';
    const rest = configured.slice(scheme.length);
    const host = rest.split(/[/:]/)[0]!.toLowerCase();
    const native = OSS_NATIVE_HOST.exec(host);
    if (native !== null) {
      endpoint = `${scheme}${native[1] === undefined ? 's3.' : ''}${rest}`;
      region ??= native[2];
    }
  }
  return { endpoint, pathStyleAccess: undefined, accessKey, secretKey, region };
}
