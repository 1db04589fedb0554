import {
  ConfigError,
  TransferKeys,
  driverKindOf,
  readRegularTextFile,
  readString,
  readTransferPolicy,
  readAzureSettings,
  readHttpSettings,
  readOssSettings,
  readS3Settings,
  readSourcePolicy,
  type ArtifactLocation,
  type DriverKind,
  type DriverPicker,
  type FlinkConfig,
  type S3Settings,
  type StorageDriver,
} from '@flink-artifacts/core';
import type { AzureDriverOptions } from './azure-driver.ts';
import type { GcsDriverOptions } from './gcs-driver.ts';
import type { HttpDriverOptions } from './http-driver.ts';

/** Options of {@link createDriverPicker}. */
export interface StorageOptions {
  /** Settings of the S3 driver. @default SDK defaults only */
  readonly s3?: S3Settings;
  /** Options of the HTTP(S) driver. */
  readonly http?: HttpDriverOptions;
  /** Options of the GCS driver. */
  readonly gcs?: GcsDriverOptions;
  /** Settings of the S3 driver for `oss://` (Flink's `fs.oss.*` keys). @default none: oss:// is refused */
  readonly oss?: S3Settings;
  /** Credentials and endpoint for Azure Blob Storage, and block upload tuning. @default the SDK's DefaultAzureCredential */
  readonly azure?: Partial<AzureDriverOptions>;
  /** Sockets per host for the network drivers. @default 64 */
  readonly maxSockets?: number;
  /** Time to connect (and, over HTTP, to get the response headers). @default 15 s */
  readonly connectTimeoutMs?: number;
  /** Extra trusted CA certificates (PEM) for HTTPS and S3, added to Node's. */
  readonly ca?: string | undefined;
  /** Drivers to use instead of the built-in ones, by kind (embedders, other stores). */
  readonly drivers?: Partial<Record<DriverKind, StorageDriver>>;
}

/**
 * Dispatches each location to the driver of its scheme. Built-in drivers are created on first
 * use and their modules imported only then, so a run without S3 never loads the AWS SDK.
 */
export function createDriverPicker(options: StorageOptions = {}): DriverPicker {
  const created = new Map<DriverKind, Promise<StorageDriver>>();

  async function build(kind: DriverKind): Promise<StorageDriver> {
    const given = options.drivers?.[kind];
    if (given !== undefined) return given;
    const maxSockets = options.maxSockets ?? 64;
    switch (kind) {
      case 's3': {
        const { createS3Driver } = await import('./s3-driver.ts');
        return createS3Driver({
          settings: options.s3 ?? emptyS3Settings,
          maxSockets,
          ...(options.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: options.connectTimeoutMs }),
          ...(options.ca === undefined ? {} : { ca: options.ca }),
        });
      }
      case 'oss': {
        const { createS3Driver } = await import('./s3-driver.ts');
        return createS3Driver({
          dialect: 'oss',
          settings: options.oss ?? emptyS3Settings,
          maxSockets,
          ...(options.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: options.connectTimeoutMs }),
          ...(options.ca === undefined ? {} : { ca: options.ca }),
        });
      }
      case 'azure': {
        const { createAzureDriver } = await import('./azure-driver.ts');
        return createAzureDriver({
          settings: options.azure?.settings ?? readAzureSettings(new Map()),
          ...options.azure,
          ...(options.ca === undefined ? {} : { ca: options.ca }),
        });
      }
      case 'gs': {
        const { createGcsDriver } = await import('./gcs-driver.ts');
        return createGcsDriver({ ...options.gcs, ...(options.ca === undefined ? {} : { ca: options.ca }) });
      }
      case 'http': {
        const { createHttpDriver } = await import('./http-driver.ts');
        return createHttpDriver({
          maxSockets,
          ...(options.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: options.connectTimeoutMs }),
          ...(options.ca === undefined ? {} : { ca: options.ca }),
          ...options.http,
        });
      }
      case 'file': {
        const { createFileDriver } = await import('./file-driver.ts');
        return createFileDriver();
      }
    }
  }

  return {
    driverFor(location: ArtifactLocation): Promise<StorageDriver> {
      const kind = driverKindOf(location);
      let driver = created.get(kind);
      if (driver === undefined) {
        driver = build(kind);
        created.set(kind, driver);
      }
      return driver;
    },
    async close(): Promise<void> {
      const drivers = await Promise.allSettled(created.values());
      created.clear();
      await Promise.allSettled(
        drivers.map((result) => (result.status === 'fulfilled' ? result.value.close?.() : undefined)),
      );
    },
  };
}

const emptyS3Settings: S3Settings = {
  endpoint: undefined,
  pathStyleAccess: undefined,
  accessKey: undefined,
  secretKey: undefined,
  region: undefined,
};

/**
 * Storage options from Flink's configuration: S3, OSS and Azure keys, HTTP headers, the raw-http switch, the
 * connect timeout and the CA file of `flink-artifacts.tls.ca-file` (read here).
 *
 * @throws ConfigError for malformed values or an unreadable CA file.
 */
export async function storageOptionsFromConfig(config: FlinkConfig, extra: Omit<StorageOptions, 's3' | 'oss'> = {}): Promise<StorageOptions> {
  const http = readHttpSettings(config);
  const policy = readTransferPolicy(config);
  const caFile = readString(config, TransferKeys.caFile);
  let ca: string | undefined;
  if (caFile !== undefined) {
    try {
      ca = await readRegularTextFile(caFile);
    } catch (error) {
      throw new ConfigError(`cannot read ${TransferKeys.caFile} ${caFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { key: TransferKeys.caFile, cause: error });
    }
    if (!ca.includes('-----BEGIN CERTIFICATE-----')) throw new ConfigError(`${TransferKeys.caFile} ${caFile} holds no PEM certificate`, { key: TransferKeys.caFile });
  }
  return {
    connectTimeoutMs: policy.connectTimeoutMs,
    ...(ca === undefined ? {} : { ca }),
    ...extra,
    s3: readS3Settings(config),
    oss: readOssSettings(config),
    azure: { ...extra.azure, settings: extra.azure?.settings ?? readAzureSettings(config) },
    http: { headers: http.headers, rawHttpEnabled: http.rawHttpEnabled, policy: readSourcePolicy(config), ...extra.http },
  };
}

/** Drivers for a batch, and how to release them. */
export interface OpenedDrivers {
  readonly picker: DriverPicker;
  /** Closes the drivers this opened; drivers given by the caller stay open (they are the caller's). */
  close(): Promise<void>;
}

/**
 * The drivers a batch uses: the caller's, or new ones built from Flink's configuration (S3 keys,
 * HTTP headers, the CA file, timeouts), which the batch closes when it is done.
 *
 * @throws ConfigError for malformed values or an unreadable CA file.
 */
export async function openDrivers(
  config: FlinkConfig,
  options: { readonly given?: DriverPicker | undefined; readonly storage?: Omit<StorageOptions, 's3' | 'oss'> | undefined; readonly maxSockets?: number | undefined } = {},
): Promise<OpenedDrivers> {
  if (options.given !== undefined) return { picker: options.given, close: async () => undefined };
  const picker = createDriverPicker({ ...(await storageOptionsFromConfig(config, options.storage)), ...(options.maxSockets === undefined ? {} : { maxSockets: options.maxSockets }) });
  return { picker, close: () => picker.close() };
}
