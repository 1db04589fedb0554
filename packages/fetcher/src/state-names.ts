import { createHash } from 'node:crypto';

// The longest suffix a state file adds to an artifact's name: `.fetched.json.<8 hex>.tmp` (26)
// and `.<owner>.part.json` (23), with room to spare.
const LONGEST_SUFFIX_BYTES = 32;
const NAME_MAX_BYTES = 255;

/**
 * The name an artifact's state files (part file, part record, fetch record) are derived from:
 * its file name, or for a name too long to take a suffix within the filesystem's 255 bytes, a
 * digest of it, so that every name Flink can use can also be fetched.
 */
export function stateName(fileName: string): string {
  if (Buffer.byteLength(fileName) <= NAME_MAX_BYTES - LONGEST_SUFFIX_BYTES) return fileName;
  return `~${createHash('sha256').update(fileName).digest('hex').slice(0, 40)}`;
}
