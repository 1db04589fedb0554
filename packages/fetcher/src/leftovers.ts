import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { goneOwners, knownOwners, removeOwnerFiles, type Ownership } from './ownership.ts';
import { parsePartName, partRecordPath, type PartRecord } from './partial-download.ts';
import { currentBootId } from './record.ts';
import { removeFile } from './remove-file.ts';

/** A part file a gone fetcher left, that this fetch can continue. */
export interface Leftover {
  readonly part: string;
  readonly record: PartRecord;
}

// Part files of the PID-named scheme (`<name>.<pid>.<random>.part`, before ownership ids).
const LEGACY_PART = /^.+\.\d+\.[0-9a-f]{12}\.part$/;

/**
 * Deals with what other fetchers left in a shared state directory. Files of fetchers that are
 * alive (another init container writing into the same volume) are never touched. Of fetchers
 * that are gone (killed, evicted, OOM), a part file this fetch wants (same name, same URI,
 * written in this boot) is handed over to be continued; the rest is removed.
 *
 * @param wanted the hashed URI of each file this fetch downloads, by its state name (stateName).
 * @returns the part to continue, by state name.
 */
export async function claimLeftovers(stateDir: string, self: Ownership, wanted: ReadonlyMap<string, string>): Promise<Map<string, Leftover>> {
  const names = await readdir(stateDir).catch(() => [] as string[]);
  const parts = names.flatMap((name) => {
    const parsed = parsePartName(name);
    return parsed === undefined || parsed.owner === self.id ? [] : [{ ...parsed, path: join(stateDir, name) }];
  });
  const owners = new Set([...parts.map((part) => part.owner), ...(await knownOwners(stateDir)).filter((owner) => owner !== self.id)]);
  const gone = owners.size === 0 ? new Set<string>() : await goneOwners(stateDir, owners);
  const boot = await currentBootId();
  const claimed = new Map<string, Leftover & { size: number }>();
  for (const part of parts.filter((p) => gone.has(p.owner))) {
    const record = await readPartRecord(part.path);
    const size = (await stat(part.path).catch(() => undefined))?.size ?? 0;
    const usable = record !== undefined && record.uri === wanted.get(part.fileName) && boot !== undefined && record.bootId === boot && size > 0;
    const best = claimed.get(part.fileName);
    if (usable && (best === undefined || size > best.size)) {
      if (best !== undefined) await removePart(best.part);
      claimed.set(part.fileName, { part: part.path, record, size });
    } else {
      await removePart(part.path);
    }
  }
  await removeOwnerFiles(stateDir, gone);
  // Leftovers of the older PID-named scheme: abandoned if not written to for a while.
  for (const name of names.filter((n) => LEGACY_PART.test(n))) {
    const info = await stat(join(stateDir, name)).catch(() => undefined);
    if (info !== undefined && Date.now() - info.mtimeMs > 60_000) await removeFile(join(stateDir, name));
  }
  return new Map([...claimed].map(([fileName, { part, record }]) => [fileName, { part, record }]));
}

async function readPartRecord(part: string): Promise<PartRecord | undefined> {
  try {
    const parsed = JSON.parse(await readFile(partRecordPath(part), 'utf8')) as Partial<PartRecord>;
    return typeof parsed.uri === 'string' && typeof parsed.stored === 'object' && parsed.stored !== null ? (parsed as PartRecord) : undefined;
  } catch {
    return undefined;
  }
}

async function removePart(part: string): Promise<void> {
  await removeFile(part);
  await removeFile(partRecordPath(part));
}
