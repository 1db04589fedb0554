import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from './errors.ts';

/** A Flink release line, as far as this project cares: major and minor. */
export interface FlinkVersion {
  readonly major: number;
  readonly minor: number;
  /** How it was written, for messages (`1.20.1`, `v2_0`, `flink:2.0.0-java17`). */
  readonly text: string;
}

/** Where a version was learnt: stated by the user, read off `$FLINK_HOME`, the image tag, or assumed. */
export type FlinkVersionSource = 'option' | 'flink-home' | 'image' | 'default';

/** A version and where it came from. */
export interface DetectedFlinkVersion {
  readonly version: FlinkVersion;
  readonly source: FlinkVersionSource;
}

/**
 * The Flink Kubernetes Operator's `spec.flinkVersion` values (its `FlinkVersion` enum, releases
 * 1.10 to 1.13). Anything else is rejected by the CRD's schema.
 */
export const OPERATOR_FLINK_VERSIONS = ['v1_13', 'v1_14', 'v1_15', 'v1_16', 'v1_17', 'v1_18', 'v1_19', 'v1_20', 'v2_0', 'v2_1', 'v2_2'] as const;
export type OperatorFlinkVersion = (typeof OPERATOR_FLINK_VERSIONS)[number];

/** Versions the operator still lists but no longer runs (since operator 1.7), or has deprecated. */
const OPERATOR_UNSUPPORTED = new Set<string>(['v1_13', 'v1_14']);
const OPERATOR_DEPRECATED = new Set<string>(['v1_15']);

/** The version assumed when nothing says otherwise (no option, no `$FLINK_HOME`, no flink image tag). */
export const ASSUMED_FLINK_VERSION: FlinkVersion = { major: 1, minor: 20, text: '1.20' };

/**
 * Parses `1.20`, `1.20.1`, `2.0.0`, `2.1-SNAPSHOT` or the operator's `v1_20`.
 *
 * @throws ConfigError naming `what` for anything else.
 */
export function parseFlinkVersion(text: string, what = '--flink-version'): FlinkVersion {
  const trimmed = text.trim();
  const match = /^(?:v(\d+)_(\d+)|(\d+)\.(\d+)(?:\.\d+)?(?:-[A-Za-z0-9.]+)?)$/.exec(trimmed);
  if (match === null) {
    throw new ConfigError(`${what} must be a Flink version such as 1.20, 2.0.0 or v2_0, got ${JSON.stringify(text)}`);
  }
  const major = Number(match[1] ?? match[3]);
  const minor = Number(match[2] ?? match[4]);
  return { major, minor, text: trimmed };
}

/** `a` is `major.minor` or later. */
export function isAtLeast(version: FlinkVersion, major: number, minor: number): boolean {
  return version.major > major || (version.major === major && version.minor >= minor);
}

/** `1.20` */
export function formatFlinkVersion(version: FlinkVersion): string {
  return `${version.major}.${version.minor}`;
}

// `flink-dist-1.20.0.jar` (1.15 and later), `flink-dist_2.12-1.14.6.jar` (Scala-suffixed, before).
const FLINK_DIST_JAR = /^flink-dist(?:_2\.1[0-3])?-(\d+\.\d+(?:\.\d+)?(?:-[A-Za-z0-9.]+)?)\.jar$/;

/**
 * The version of the Flink distribution at `flinkHome`, read off `lib/flink-dist-<version>.jar`
 * as Flink's own scripts find the dist jar.
 *
 * @returns undefined when `lib/` holds no dist jar.
 * @throws ConfigError when `lib/` holds two dist jars of different versions.
 */
export async function detectFlinkHomeVersion(flinkHome: string): Promise<FlinkVersion | undefined> {
  let names: string[];
  try {
    names = (await readdir(join(flinkHome, 'lib'))).sort();
  } catch {
    return undefined;
  }
  const versions = names.flatMap((name) => {
    const match = FLINK_DIST_JAR.exec(name);
    return match === null ? [] : [parseFlinkVersion(match[1]!, name)];
  });
  const distinct = new Set(versions.map(formatFlinkVersion));
  if (distinct.size > 1) {
    throw new ConfigError(`${join(flinkHome, 'lib')} holds flink-dist jars of several versions (${[...distinct].join(', ')})`, {
      hint: 'remove the stale one, or say which Flink you run with --flink-version',
    });
  }
  return versions[0];
}

/**
 * The Flink version an image tag names, for images of the official `flink` repository
 * (`flink:1.20`, `apache/flink:2.0.0-java17`, `registry/mirror/flink:1.19.1-scala_2.12`). A custom
 * image name says nothing about the Flink inside: undefined.
 */
export function imageFlinkVersion(image: string): FlinkVersion | undefined {
  if (image.includes('@')) return undefined;
  const slash = image.lastIndexOf('/');
  const nameAndTag = image.slice(slash + 1);
  const colon = nameAndTag.indexOf(':');
  if (colon === -1) return undefined;
  if (nameAndTag.slice(0, colon) !== 'flink') return undefined;
  const match = /^(\d+)\.(\d+)(?:[.-]|$)/.exec(nameAndTag.slice(colon + 1));
  if (match === null) return undefined;
  return { major: Number(match[1]), minor: Number(match[2]), text: image };
}

/**
 * The operator's `flinkVersion` for a version.
 *
 * @throws ConfigError when the operator's CRD has no such value (exit 2: the resource would be rejected).
 */
export function operatorFlinkVersion(version: FlinkVersion): OperatorFlinkVersion {
  const value = `v${version.major}_${version.minor}`;
  if (!(OPERATOR_FLINK_VERSIONS as readonly string[]).includes(value)) {
    throw new ConfigError(`the Flink Kubernetes Operator has no flinkVersion ${value} (from ${version.text})`, {
      hint: `its CRD accepts ${OPERATOR_FLINK_VERSIONS.join(', ')}; pass one with --flink-version`,
    });
  }
  return value as OperatorFlinkVersion;
}

/** A warning for operator versions that the operator lists but no longer runs, or has deprecated. */
export function operatorVersionWarning(value: OperatorFlinkVersion): string | undefined {
  if (OPERATOR_UNSUPPORTED.has(value)) return `flinkVersion ${value} is no longer supported by the Flink Kubernetes Operator (since 1.7)`;
  if (OPERATOR_DEPRECATED.has(value)) return `flinkVersion ${value} is deprecated by the Flink Kubernetes Operator (since 1.10)`;
  return undefined;
}

/**
 * How `bin/flink` submits an application cluster in a version: `run-application` until 1.19;
 * `run --target kubernetes-application` from 1.20 (FLIP-464 merged the two and deprecated
 * `run-application`, FLINK-35625) and the only form in 2.x, where `run-application` is gone
 * (FLINK-36310).
 */
export function flinkRunAction(version: FlinkVersion): 'run' | 'run-application' {
  return isAtLeast(version, 1, 20) ? 'run' : 'run-application';
}
