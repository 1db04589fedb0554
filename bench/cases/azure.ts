/**
 * Fetch from Azure Blob Storage: one large blob from Azurite (Microsoft's emulator, on loopback),
 * ours with the account key against `curl` with a SAS URL (what a hand-written init container
 * does where azcopy is not installed), with references: Node's own http.get piped to the file
 * (the floor for any Node-based fetcher) and curl to /dev/null (the server's own speed).
 */
import { join } from 'node:path';
import { BlobServiceClient, ContainerSASPermissions, StorageSharedKeyCredential } from '@azure/storage-blob';
import { AZURITE_ACCOUNT, AZURITE_KEY, startAzurite } from '../../test/servers/azurite.mjs';
import type { BenchCase } from '../lib/case.ts';
import { ROOT, WORK, type BenchContext } from '../lib/context.ts';
import { emptyDir, filesIn } from '../lib/files.ts';

export interface BenchAzurite {
  readonly endpoint: string;
  stop(): Promise<void>;
}

export async function startBenchAzurite(port: number): Promise<BenchAzurite> {
  const started = await startAzurite(join(WORK, 'azurite'), port);
  return { endpoint: started.endpoint, stop: () => started.stop() };
}

export async function fetchLargeAzureCase(context: BenchContext, azurite: BenchAzurite, size: number): Promise<BenchCase> {
  const label = context.sizeLabel(size);
  const name = `large-${label}.jar`;
  const file = await context.dataFile(name, size);
  const service = new BlobServiceClient(azurite.endpoint, new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY));
  const container = service.getContainerClient(`bench-${Date.now().toString(36)}`);
  await container.create();
  await container.getBlockBlobClient(`large/${name}`).uploadFile(file, { blockSize: 16 * 1024 * 1024, concurrency: 4 });
  const sasUrl = await container.generateSasUrl({ permissions: ContainerSASPermissions.parse('r'), expiresOn: new Date(Date.now() + 24 * 3_600_000) });
  const sas = new URL(sasUrl).search;
  const blobUrl = `${container.url}/large/${name}${sas}`;
  const out = join(WORK, 'out', `azure-${label}`);
  const clusterDir = join(out, 'default', 'bench');
  const target = join(clusterDir, name);
  const uri = `abfss://${container.containerName}@${AZURITE_ACCOUNT}.dfs.core.windows.net/large/${name}`;
  return {
    id: `fetch-large-azure-${label}`,
    title: `Fetch, one large: 1 × ${label} from Azure Blob Storage (Azurite)`,
    rounds: context.rounds,
    contenders: [
      {
        name: 'flink-artifacts fetch (account key)',
        ours: true,
        prepare: () => emptyDir(out),
        command: () => {
          const spec = context.ours(['fetch', uri, '-Dkubernetes.cluster-id=bench', `-Duser.artifacts.base-dir=${out}`, `-Dflink-artifacts.azure.endpoint=${azurite.endpoint}`]);
          return { ...spec, env: { ...spec.env, AZURE_STORAGE_KEY: AZURITE_KEY } };
        },
      },
      { name: 'curl (SAS URL) -o file', ours: false, prepare: () => emptyDir(clusterDir), command: () => ({ command: 'curl', args: ['-sf', '-o', target, blobUrl] }) },
      {
        name: "reference: Node's http.get piped to the file",
        ours: false,
        prepare: () => emptyDir(clusterDir),
        command: () => ({ command: context.oursNode, args: [join(ROOT, 'bench', 'lib', 'node-get.mjs'), blobUrl, target] }),
      },
      { name: 'reference: curl (SAS URL) -o /dev/null', ours: false, command: () => ({ command: 'curl', args: ['-sf', '-o', '/dev/null', blobUrl] }) },
    ],
    async verify(contender) {
      if (contender.includes('/dev/null')) return;
      const found = await filesIn(clusterDir);
      if (found.count !== 1 || found.bytes !== size) throw new Error(`${contender}: ${found.count} files, ${found.bytes} bytes`);
    },
  };
}
