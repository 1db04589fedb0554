import { Readable } from 'node:stream';
import { startGcsServer } from '@flink-artifacts/test-helpers/gcs-server';
import { parseArtifactUri } from '@flink-artifacts/core';
import { createGcsDriver } from '../../../packages/storage/src/gcs-driver.ts';
const server = await startGcsServer();
server.createBucket('bkt');
const driver = createGcsDriver({ apiEndpoint: server.url, projectId: 'test', resumableThreshold: 1024 });
const size = Number(process.argv[2]);
const { randomBytes, createHash } = await import('node:crypto'); const content = randomBytes(size); const md5 = createHash('md5').update(content).digest('hex'); const sha256 = createHash('sha256').update(content).digest('hex');
const ref = parseArtifactUri('gs://bkt/up/x.jar');
await driver.write!(ref, { size, open: () => Readable.from([content]) }, { checksums: { md5, sha256 }, ifAbsent: true, onBytes: () => {} });
console.log('written');
const r = await driver.read(ref);
if (!r.notModified) { let n = 0; for await (const c of r.body) n += (c as Buffer).length; console.log('read', n); }
try { await driver.stat(ref); console.log('stat ok'); } catch (e) { console.log('stat err', (e as Error).message); }
for (const r of server.requests) console.log(r.method, r.path, JSON.stringify(r.query), r.status);
await server.stop();
