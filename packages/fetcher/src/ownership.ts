import { randomBytes } from 'node:crypto';
import { readdir, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { removeFile } from './remove-file.ts';
import { ensurePrivateDirectory } from './state-dir.ts';

/** How often a live fetcher touches its heartbeat file. */
const HEARTBEAT_MS = 1000;
/** A heartbeat older than this (by our clock) is a dead fetcher's, whatever the clocks say. */
const STALE_MS = 15_000;
/** How long to watch a recent heartbeat: long enough for a live fetcher to touch it twice. */
const OBSERVE_MS = 2.5 * HEARTBEAT_MS;
const OWNERS_DIR = 'owners';
/** An ownership id: what the heartbeat files and the part files' names carry. */
const OWNER_ID = /^[0-9a-f]{12}$/;

/**
 * This fetcher's claim on the temporary files it writes in a state directory, which other
 * fetchers may share (two init containers on one PVC, each PID 1 in its own namespace): a random
 * id in their names, and a heartbeat file whose modification time moves every second while the
 * process lives. A PID says nothing across PID namespaces; a heartbeat that stops moving does.
 */
export class Ownership {
  readonly id: string;
  readonly #file: string;
  readonly #timer: NodeJS.Timeout;

  private constructor(id: string, file: string, timer: NodeJS.Timeout) {
    this.id = id;
    this.#file = file;
    this.#timer = timer;
  }

  /** Starts the heartbeat in `stateDir`. */
  static async start(stateDir: string): Promise<Ownership> {
    const id = randomBytes(6).toString('hex');
    const dir = join(stateDir, OWNERS_DIR);
    await ensurePrivateDirectory(dir);
    const file = join(dir, id);
    // A new file only (wx): never through a name planted in advance.
    await writeFile(file, `${process.pid}\n`, { flag: 'wx' });
    const timer = setInterval(() => {
      const now = new Date();
      void utimes(file, now, now).catch(() => undefined);
    }, HEARTBEAT_MS);
    timer.unref();
    return new Ownership(id, file, timer);
  }

  /** Stops the heartbeat and removes it: what this process leaves is nobody's. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await removeFile(this.#file);
  }
}

/**
 * Which of the given owners are gone: no heartbeat file, one not touched for a long time, or one
 * that does not move while watched (its process was killed moments ago). Watching costs
 * {@link OBSERVE_MS}, only when an owner's heartbeat is recent.
 */
export async function goneOwners(stateDir: string, owners: Iterable<string>): Promise<Set<string>> {
  const gone = new Set<string>();
  const recent = new Map<string, number>();
  for (const owner of new Set(owners)) {
    const beat = await stat(join(stateDir, OWNERS_DIR, owner)).catch(() => undefined);
    if (beat === undefined || Date.now() - beat.mtimeMs > STALE_MS) gone.add(owner);
    else recent.set(owner, beat.mtimeMs);
  }
  if (recent.size > 0) {
    await new Promise((resolve) => setTimeout(resolve, OBSERVE_MS));
    for (const [owner, before] of recent) {
      const beat = await stat(join(stateDir, OWNERS_DIR, owner)).catch(() => undefined);
      if (beat === undefined || beat.mtimeMs === before) gone.add(owner);
    }
  }
  return gone;
}

/** Removes heartbeat files of owners that are gone (a killed fetcher leaves one). */
export async function removeOwnerFiles(stateDir: string, owners: Iterable<string>): Promise<void> {
  for (const owner of owners) if (OWNER_ID.test(owner)) await removeFile(join(stateDir, OWNERS_DIR, owner));
}

/** Heartbeat files present, by owner id; names that are no owner id are not ours and stay. */
export async function knownOwners(stateDir: string): Promise<string[]> {
  return (await readdir(join(stateDir, OWNERS_DIR)).catch(() => [] as string[])).filter((name) => OWNER_ID.test(name));
}
