import { BlockList, isIP } from 'node:net';
import type { FlinkConfig } from './config.ts';
import { ConfigError, FlinkArtifactsError, type FlinkArtifactsErrorOptions } from './errors.ts';
import { parseFlinkBoolean, parseFlinkList } from './flink-values.ts';
import { SCHEME_ALIASES, type ArtifactUri } from './uri.ts';

/** Where a fetch may go: our own keys, in Flink's style. */
export const SourceKeys = {
  /** `;`-separated schemes a fetch may read (`s3;https;local`). @default all */
  allowedSchemes: 'flink-artifacts.source.allowed-schemes',
  /** `;`-separated HTTP(S) hosts a fetch may contact, `*.example.com` for a domain's hosts. @default all */
  allowedHosts: 'flink-artifacts.source.allowed-hosts',
  /** Whether link-local and cloud metadata addresses may be contacted. @default false */
  allowLinkLocal: 'flink-artifacts.source.allow-link-local',
} as const;

/** What a fetch may contact. Allow-all by default, as Flink is, except cloud metadata endpoints. */
export interface SourcePolicy {
  /** Allowed schemes (canonical: `s3`, not `s3a`), or undefined for all. */
  readonly allowedSchemes: ReadonlySet<string> | undefined;
  /** Allowed HTTP(S) host patterns, or undefined for all. */
  readonly allowedHosts: readonly string[] | undefined;
  readonly allowLinkLocal: boolean;
}

/** A source the policy does not allow. Usage kind: exit 2, nothing contacted. */
export class SourceRefusedError extends FlinkArtifactsError {
  constructor(message: string, options: FlinkArtifactsErrorOptions = {}) {
    super('ERR_SOURCE_REFUSED', 'usage', message, options);
    this.name = 'SourceRefusedError';
  }
}

/** @throws ConfigError for an unknown scheme or a malformed flag. */
export function readSourcePolicy(config: FlinkConfig): SourcePolicy {
  const schemes = parseFlinkList(config.get(SourceKeys.allowedSchemes), SourceKeys.allowedSchemes);
  const allowedSchemes = schemes.length === 0 ? undefined : new Set(
    schemes.map((given) => {
      const scheme = SCHEME_ALIASES[given.trim().toLowerCase().replace(/:\/*$/, '')];
      if (scheme === undefined) throw new ConfigError(`${SourceKeys.allowedSchemes}: unknown scheme ${JSON.stringify(given)}`, { key: SourceKeys.allowedSchemes, hint: `schemes: ${Object.keys(SCHEME_ALIASES).join(', ')}` });
      return scheme;
    }),
  );
  const hosts = parseFlinkList(config.get(SourceKeys.allowedHosts), SourceKeys.allowedHosts).map((host) => host.trim().toLowerCase());
  return {
    allowedSchemes,
    allowedHosts: hosts.length === 0 ? undefined : hosts,
    allowLinkLocal: parseFlinkBoolean(config.get(SourceKeys.allowLinkLocal), SourceKeys.allowLinkLocal, false),
  };
}

/** The policy when nothing is configured: everything but link-local and metadata endpoints. */
export const DEFAULT_SOURCE_POLICY: SourcePolicy = { allowedSchemes: undefined, allowedHosts: undefined, allowLinkLocal: false };

// Host names of cloud metadata services (GCE, AWS's own alias, Azure's, Alibaba's).
const METADATA_NAMES = new Set(['metadata.google.internal', 'metadata', 'instance-data', 'instance-data.ec2.internal', 'metadata.azure.internal']);

// The addresses refused by default. Node's BlockList also matches an IPv4 rule against the
// IPv4-mapped IPv6 forms (::ffff:169.254.169.254, ::ffff:a9fe:a9fe, as URL parsing writes it);
// the v4-compatible (::/96) and NAT64 (64:ff9b::/96) embeddings are listed as their own rules.
const REFUSED = new BlockList();
for (const [v4, prefix] of [['169.254.0.0', 16], ['100.100.100.200', 32]] as const) {
  REFUSED.addSubnet(v4, prefix, 'ipv4');
  const [a, b, c, d] = v4.split('.').map(Number) as [number, number, number, number];
  const low = `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  REFUSED.addSubnet(`::${low}`, 96 + prefix, 'ipv6');
  REFUSED.addSubnet(`64:ff9b::${low}`, 96 + prefix, 'ipv6');
}
REFUSED.addSubnet('fe80::', 10, 'ipv6');
REFUSED.addAddress('fd00:ec2::254', 'ipv6');

/**
 * Link-local addresses (169.254.0.0/16, fe80::/10), where every cloud serves its instance
 * metadata and credentials, and the other well-known metadata addresses (AWS's IPv6
 * fd00:ec2::254, Alibaba's 100.100.100.200), in any IPv6 form that reaches them, or a
 * metadata host name.
 */
export function isMetadataOrLinkLocal(host: string): boolean {
  const name = host.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
  if (METADATA_NAMES.has(name)) return true;
  const version = isIP(name);
  return version !== 0 && REFUSED.check(name, version === 4 ? 'ipv4' : 'ipv6');
}

function hostAllowed(host: string, patterns: readonly string[]): boolean {
  const name = host.toLowerCase();
  return patterns.some((pattern) => (pattern.startsWith('*.') ? name.endsWith(pattern.slice(1)) && name.length > pattern.length - 1 : name === pattern));
}

/**
 * Checks a URI against the policy: its scheme, and for HTTP(S) its host.
 *
 * @throws SourceRefusedError naming the URI and the key that refuses it.
 */
export function checkSource(uri: ArtifactUri, policy: SourcePolicy): void {
  const { location } = uri;
  if (policy.allowedSchemes !== undefined && !policy.allowedSchemes.has(location.scheme)) {
    // Named as written (abfss, s3a), not as folded (azure, s3).
    const given = /^([a-z][a-z0-9+.-]*):/i.exec(uri.raw)?.[1]?.toLowerCase() ?? location.scheme;
    throw new SourceRefusedError(`${uri.display}: scheme ${given} is not allowed`, { hint: `${SourceKeys.allowedSchemes} allows ${[...policy.allowedSchemes].join(';')}` });
  }
  if (location.scheme === 'http' || location.scheme === 'https') checkHost(new URL(location.url).hostname, policy, uri.display);
}

/**
 * Checks a host (of a URI, a redirect target, or the address a name resolved to).
 *
 * @throws SourceRefusedError naming `display`.
 */
export function checkHost(host: string, policy: SourcePolicy, display: string): void {
  checkAddress(host, policy, display);
  if (policy.allowedHosts !== undefined && !hostAllowed(host.replace(/^\[|\]$/g, ''), policy.allowedHosts)) {
    throw new SourceRefusedError(`${display}: host ${host} is not allowed`, { hint: `${SourceKeys.allowedHosts} allows ${policy.allowedHosts.join(';')}` });
  }
}

/**
 * Checks an address a host name resolved to (a DNS answer can point anywhere).
 *
 * @throws SourceRefusedError naming `display`.
 */
export function checkAddress(address: string, policy: SourcePolicy, display: string): void {
  if (!policy.allowLinkLocal && isMetadataOrLinkLocal(address)) {
    throw new SourceRefusedError(`${display}: ${address} is a link-local or cloud metadata address; refused`, {
      hint: `it serves instance credentials, not artifacts; set ${SourceKeys.allowLinkLocal}=true if it really serves one`,
    });
  }
}
