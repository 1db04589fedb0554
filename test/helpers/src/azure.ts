/**
 * The real Azure Blob server for tests: Azurite. The test runner starts one for the whole run and
 * passes its endpoint in FA_TEST_AZURE_ENDPOINT; a test file run on its own starts a private one
 * (about 1 s) and stops it when the process exits.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobServiceClient, ContainerSASPermissions, StorageSharedKeyCredential, type ContainerClient } from '@azure/storage-blob';
import { AZURITE_ACCOUNT, AZURITE_KEY, startAzurite } from '../../servers/azurite.mjs';
import { freePort } from './s3.ts';

export interface TestAzure {
  /** The Blob service URL (path-style: `http://127.0.0.1:PORT/devstoreaccount1`). */
  readonly endpoint: string;
  readonly account: string;
  readonly accountKey: string;
  /** An SDK client for arranging test data (not the code under test). */
  readonly service: BlobServiceClient;
  /** Flink options that point our Azure driver at this server with the account key. */
  readonly flinkOptions: Record<string, string>;
  /** Only the endpoint: for tests that bring their own credentials. */
  readonly endpointOptions: Record<string, string>;
  /** `abfss://<container>@<account>.dfs.core.windows.net/<path>` or the `wasbs://` form. */
  uri(container: string, path: string, form?: 'abfs' | 'abfss' | 'wasb' | 'wasbs'): string;
  createContainer(name: string): Promise<ContainerClient>;
  put(container: string, name: string, body: Buffer | string, metadata?: Record<string, string>): Promise<void>;
  /** A SAS token (no leading `?`) for one container, with every permission, valid for an hour. */
  containerSas(container: string): Promise<string>;
}

let shared: Promise<TestAzure> | undefined;

/** The test Azure server: the run's shared one, or a private one started on first use. */
export function useAzure(): Promise<TestAzure> {
  shared ??= connectOrStart();
  return shared;
}

async function connectOrStart(): Promise<TestAzure> {
  const given = process.env.FA_TEST_AZURE_ENDPOINT;
  if (given) return connect(given);
  const dir = await mkdtemp(join(tmpdir(), 'fa-azurite-'));
  const started = await startAzurite(dir, await freePort());
  process.once('exit', () => started.kill());
  return connect(started.endpoint);
}

function connect(endpoint: string): TestAzure {
  const credential = new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY);
  const service = new BlobServiceClient(endpoint, credential);
  return {
    endpoint,
    account: AZURITE_ACCOUNT,
    accountKey: AZURITE_KEY,
    service,
    flinkOptions: {
      'flink-artifacts.azure.endpoint': endpoint,
      [`fs.azure.account.key.${AZURITE_ACCOUNT}.dfs.core.windows.net`]: AZURITE_KEY,
    },
    endpointOptions: { 'flink-artifacts.azure.endpoint': endpoint },
    uri(container, path, form = 'abfss') {
      const service = form.startsWith('abfs') ? 'dfs' : 'blob';
      return `${form}://${container}@${AZURITE_ACCOUNT}.${service}.core.windows.net/${path}`;
    },
    async createContainer(name) {
      const container = service.getContainerClient(name);
      await container.create();
      return container;
    },
    async put(container, name, body, metadata) {
      const data = typeof body === 'string' ? Buffer.from(body) : body;
      await service.getContainerClient(container).getBlockBlobClient(name).upload(data, data.length, metadata ? { metadata } : {});
    },
    async containerSas(container) {
      const url = await service.getContainerClient(container).generateSasUrl({
        permissions: ContainerSASPermissions.parse('racwdl'),
        expiresOn: new Date(Date.now() + 3_600_000),
      });
      return new URL(url).search.slice(1);
    },
  };
}
