import * as tls from 'node:tls';
import { ConfigError, TransferKeys } from '@flink-artifacts/core';

/**
 * Adds CA certificates to the process's default trust. For the SDKs (Google's, Microsoft's)
 * whose HTTP clients take no CA option of their own but build their TLS contexts from it.
 *
 * @throws ConfigError on a Node without `tls.setDefaultCACertificates` (before 22.15).
 */
export function trustProcessWide(ca: string | Buffer, forWhat: string): void {
  const api = tls as typeof tls & { setDefaultCACertificates?: (certs: string[]) => void; getCACertificates?: (type: string) => string[] };
  if (api.setDefaultCACertificates === undefined || api.getCACertificates === undefined) {
    throw new ConfigError(`a custom CA (${TransferKeys.caFile}) for ${forWhat} needs Node 22.15 or later; this is Node ${process.versions.node}`, {
      key: TransferKeys.caFile,
      hint: 'set NODE_EXTRA_CA_CERTS to the CA file instead',
    });
  }
  const pem = ca.toString();
  const current = api.getCACertificates('default');
  if (!current.includes(pem)) api.setDefaultCACertificates([...current, pem]);
}
