import type { FlinkConfig } from './config.ts';
import { ConfigError } from './errors.ts';
import { readString } from './options.ts';

/** How a large object is fetched: in parallel byte ranges, each pinned to the object's version. */
export const RangeKeys = {
  /** Ranges of one object in flight at once; 1 reads it as one stream. */
  parallel: 'flink-artifacts.fetch.parallel-ranges',
  /** Bytes per range (Flink's memory size syntax: `16 mb`, `8m`, `1048576`). */
  size: 'flink-artifacts.fetch.range-size',
} as const;

export interface RangePolicy {
  /** Ranges in flight per object. @default 8 */
  readonly parallel: number;
  /** Bytes per range; objects of at least two ranges are split. @default 16 MiB */
  readonly rangeBytes: number;
}

export const DEFAULT_RANGE_POLICY: RangePolicy = { parallel: 8, rangeBytes: 16 * 1024 * 1024 };

const MEMORY_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  bytes: 1,
  k: 1024,
  kb: 1024,
  kibibytes: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mebibytes: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gibibytes: 1024 ** 3,
};

/**
 * Parses a Flink memory size ("16 mb", "8m", "1 gb", a bare number of bytes), 1024-based as in
 * Flink's MemorySize.
 *
 * @throws ConfigError naming `key`.
 */
export function parseMemorySize(value: string, key: string): number {
  const match = /^\s*(\d+)\s*([a-zA-Z]*)\s*$/.exec(value);
  const factor = MEMORY_UNITS[match?.[2]?.toLowerCase() ?? 'x'];
  if (!match || factor === undefined) throw new ConfigError(`${key} must be a memory size such as "16 mb" or "8m", got ${JSON.stringify(value)}`, { key });
  return Number(match[1]) * factor;
}

/** @throws ConfigError for malformed or out-of-range values. */
export function readRangePolicy(config: FlinkConfig): RangePolicy {
  const parallelText = readString(config, RangeKeys.parallel);
  const parallel = parallelText === undefined ? DEFAULT_RANGE_POLICY.parallel : Number(parallelText);
  if (!Number.isInteger(parallel) || parallel < 1 || parallel > 64) {
    throw new ConfigError(`${RangeKeys.parallel} must be a whole number from 1 to 64, got ${JSON.stringify(parallelText)}`, { key: RangeKeys.parallel });
  }
  const sizeText = readString(config, RangeKeys.size);
  const rangeBytes = sizeText === undefined ? DEFAULT_RANGE_POLICY.rangeBytes : parseMemorySize(sizeText, RangeKeys.size);
  if (rangeBytes < 1024 * 1024) throw new ConfigError(`${RangeKeys.size} must be at least 1 mb, got ${JSON.stringify(sizeText)}`, { key: RangeKeys.size });
  return { parallel, rangeBytes };
}
