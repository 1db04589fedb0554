/**
 * A self-signed certificate for 127.0.0.1 and localhost, made with openssl, for HTTPS tests.
 * Clients trust it by passing it as their CA (or NODE_EXTRA_CA_CERTS for subprocesses).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestCertificate {
  key: string;
  cert: string;
  /** Path of a PEM file holding the certificate, for NODE_EXTRA_CA_CERTS. */
  certPath: string;
}

export async function createTestCertificate(): Promise<TestCertificate> {
  const dir = await mkdtemp(join(tmpdir(), 'fa-tls-'));
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  await run('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
    '-subj', '/CN=flink-artifacts test',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-keyout', keyPath, '-out', certPath,
  ]);
  const [key, cert] = await Promise.all([readFile(keyPath, 'utf8'), readFile(certPath, 'utf8')]);
  process.once('exit', () => void rm(dir, { recursive: true, force: true }));
  return { key, cert, certPath };
}
