/**
 * The storage driver contract as one suite: every method of `StorageDriver`, every error class
 * it promises, run against each driver and its real server (Ceph RGW, the GCS test server,
 * HTTP(S), files; Azurite when the Azure driver joins). A driver joins by describing its
 * store in a {@link ConformanceSubject}; a capability the store truly lacks (HTTP cannot be
 * written or listed) is declared, and its checks are skipped by name, never silently.
 *
 * Each check is a plain async function that throws on a violation, so that the suite can also
 * be pointed at deliberately broken drivers (conformance-meta.test.ts) to prove it notices.
 */
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { TestFn } from 'ava';
import {
  AccessDeniedError,
  ArtifactNotFoundError,
  ObjectChangedError,
  ObjectExistsError,
  TransferError,
  isFlinkArtifactsError,
  parseArtifactUri,
  type ObjectRef,
  type ReadResult,
  type StorageDriver,
  type UploadSource,
} from '@flink-artifacts/core';

/** What the store can do, as far as the contract's optional parts go. */
export interface Capabilities {
  /** `write` is implemented. */
  readonly write: boolean;
  /** `list` is implemented. */
  readonly list: boolean;
  /** `hash` is implemented. */
  readonly hash: boolean;
  /** The store states an MD5 of what `put` stored (S3 ETag of a single PUT, GCS md5Hash, Content-MD5). */
  readonly statesMd5: boolean;
  /** The store keeps the SHA-256 our writes attach, and `stat` states it. */
  readonly keepsSha256: boolean;
  /** Writes into a missing bucket fail (ArtifactNotFoundError) instead of creating it. */
  readonly containers: boolean;
}

/** A store under test, arranged through its own API (never through the driver under test). */
export interface ConformanceSubject {
  readonly driver: StorageDriver;
  readonly capabilities: Capabilities;
  /** Stores `content` at `name` (a relative key such as `dir/a.jar`), replacing what is there; returns its URI. */
  put(name: string, content: Buffer): Promise<string>;
  /** The URI of `name`, which need not exist. */
  uri(name: string): string;
  /** The key under which `list` reports `name`. */
  listKey(name: string): string;
  /** A URI in a bucket/container that does not exist (for `containers`). */
  readonly missingContainerUri?: string | undefined;
  /** What the store refuses: a driver with wrong credentials, or a URI the driver may not touch. */
  readonly denied?: { readonly driver: StorageDriver; readonly uri: (name: string) => string } | undefined;
  /** A driver for the same store at an address where nothing listens. */
  readonly unreachable?: { readonly driver: StorageDriver; readonly uri: string } | undefined;
  stop(): Promise<void>;
}

export type Check = (subject: ConformanceSubject) => Promise<void>;

const md5 = (data: Buffer): string => createHash('md5').update(data).digest('hex');
const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');
const ref = (uri: string): ObjectRef => parseArtifactUri(uri);
/** A prefix (a "directory" URI ending in /) as the ObjectRef that `list` takes. */
function prefixRef(dirUri: string): ObjectRef {
  const { location } = parseArtifactUri(`${dirUri}x.jar`);
  switch (location.scheme) {
    case 's3':
    case 'gs':
    case 'oss':
    case 'azure':
      return { location: { ...location, key: location.key.slice(0, -'x.jar'.length) }, display: dirUri };
    case 'file':
    case 'local':
      return { location: { ...location, path: location.path.slice(0, -'/x.jar'.length) }, display: dirUri };
    default:
      return { location, display: dirUri };
  }
}
let counter = 0;
/** A name no other check uses. */
const fresh = (what: string): string => `conf-${process.pid}-${Date.now().toString(36)}-${++counter}/${what}.jar`;
/** Content with a recognisable size, so that sizes tell versions apart. */
const content = (size: number, seed = size): Buffer => Buffer.from(Array.from({ length: size }, (_, i) => (i * 31 + seed) & 0xff));

async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function readOk(driver: StorageDriver, uri: string, options: Parameters<StorageDriver['read']>[1] = {}): Promise<ReadResult> {
  const result = await driver.read(ref(uri), options);
  assert.equal(result.notModified, false, `${uri}: unexpected "not modified"`);
  return result as ReadResult;
}

function bufferSource(data: Buffer): UploadSource {
  return { size: data.length, open: (range) => Readable.from([range ? data.subarray(range.start, range.end + 1) : data]) };
}

async function rejectsWith(promise: Promise<unknown>, errorClass: new (...args: never[]) => Error, what: string): Promise<Error> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error ?? new Error('rejected with nothing');
  }
  if (caught === undefined) assert.fail(`${what}: expected ${errorClass.name}, but it succeeded`);
  assert.ok(caught instanceof errorClass, `${what}: expected ${errorClass.name}, got ${(caught as Error)?.name}: ${(caught as Error)?.message}`);
  return caught;
}

/** Every check, by name. Checks needing a capability say so in {@link REQUIRES}. */
export const CHECKS: Readonly<Record<string, Check>> = {
  async 'stat: size, version and only true checksums; undefined when missing'(s) {
    const data = content(70_001);
    const uri = await s.put(fresh('stat'), data);
    const info = await s.driver.stat(ref(uri));
    assert.ok(info !== undefined, 'stat of an existing object');
    assert.equal(info.size, data.length);
    assert.ok(info.version !== undefined && info.version !== '', 'a version');
    if (info.checksums.md5 !== undefined) assert.equal(info.checksums.md5, md5(data), 'a stated MD5 is the content\'s');
    if (info.checksums.sha256 !== undefined) assert.equal(info.checksums.sha256, sha256(data), 'a stated SHA-256 is the content\'s');
    if (s.capabilities.statesMd5) assert.equal(info.checksums.md5, md5(data), 'this store states an MD5');
    assert.equal(await s.driver.stat(ref(s.uri(fresh('missing')))), undefined);
  },

  async 'stat: the version changes with the content'(s) {
    const name = fresh('versions');
    const uri = await s.put(name, content(1000, 1));
    const first = await s.driver.stat(ref(uri));
    await s.put(name, content(1200, 2));
    const second = await s.driver.stat(ref(uri));
    assert.equal(second?.size, 1200);
    assert.notEqual(second?.version, first?.version);
  },

  async 'read: the exact bytes, with the same object description as stat'(s) {
    const data = content(300_000);
    const uri = await s.put(fresh('read'), data);
    const info = await s.driver.stat(ref(uri));
    const result = await readOk(s.driver, uri);
    assert.equal(result.start, 0);
    assert.ok((await readAll(result.body)).equals(data), 'same bytes');
    assert.equal(result.object.size, data.length);
    assert.equal(result.object.version, info?.version);
    for (const [algorithm, value] of Object.entries(result.object.checksums)) {
      const expected = algorithm === 'md5' ? md5(data) : algorithm === 'sha256' ? sha256(data) : undefined;
      if (expected !== undefined) assert.equal(value, expected, `stated ${algorithm}`);
    }
  },

  async 'read: "not modified" for the current version, the body for another'(s) {
    const data = content(5000);
    const uri = await s.put(fresh('conditional'), data);
    const info = await s.driver.stat(ref(uri));
    const same = await s.driver.read(ref(uri), { unlessVersion: info?.version });
    assert.equal(same.notModified, true);
    const other = await s.driver.read(ref(uri), { unlessVersion: '"not-the-version"' });
    assert.equal(other.notModified, false);
    if (!other.notModified) assert.ok((await readAll(other.body)).equals(data));
  },

  async 'read: a missing object is ArtifactNotFoundError naming the URI'(s) {
    const uri = s.uri(fresh('missing'));
    const error = await rejectsWith(s.driver.read(ref(uri)), ArtifactNotFoundError, 'read of a missing object');
    assert.ok(error.message.includes(ref(uri).display), error.message);
  },

  async 'read: a ranged read pinned to the version gives the rest of the same bytes'(s) {
    const data = content(200_000);
    const uri = await s.put(fresh('range'), data);
    const info = await s.driver.stat(ref(uri));
    const start = 123_457;
    const result = await readOk(s.driver, uri, { start, ifMatch: info?.version });
    if (result.start !== start) result.body.destroy();
    assert.equal(result.start, start, 'the store served the range');
    assert.ok((await readAll(result.body)).equals(data.subarray(start)), 'the rest of the object');
    assert.equal(result.object.size, data.length, 'the whole object\'s size, not the range\'s');
  },

  async 'read: bounded ranges pinned to the version give exactly their bytes (the parallel ranges of a large object)'(s) {
    const data = content(300_000, 11);
    const uri = await s.put(fresh('bounded'), data);
    const info = await s.driver.stat(ref(uri));
    assert.equal(info?.acceptsRanges, true, 'stat says the store serves ranges of this version');
    for (const [start, end] of [[0, 99_999], [100_000, 199_999], [200_000, 299_999], [123, 123]] as const) {
      const result = await readOk(s.driver, uri, { start, end, ifMatch: info?.version });
      if (result.start !== start) result.body.destroy();
      assert.equal(result.start, start, `${start}-${end}: the store served the range`);
      const body = await readAll(result.body);
      assert.ok(body.equals(data.subarray(start, end + 1)), `${start}-${end}: exactly its bytes (got ${body.length})`);
    }
  },

  async 'read: a ranged read pinned to an old version never splices the new bytes'(s) {
    const name = fresh('range-changed');
    const before = content(100_000, 7);
    const uri = await s.put(name, before);
    const old = (await s.driver.stat(ref(uri)))?.version;
    const after = content(100_001, 8);
    await s.put(name, after);
    assert.notEqual((await s.driver.stat(ref(uri)))?.version, old, 'the store gave the new content a new version');
    let result: ReadResult;
    try {
      result = await readOk(s.driver, uri, { start: 50_000, ifMatch: old });
    } catch (error) {
      assert.ok(error instanceof ObjectChangedError, `expected ObjectChangedError or a whole answer, got ${(error as Error).name}: ${(error as Error).message}`);
      return;
    }
    // The contract's other answer: the whole (new) object, from byte 0.
    if (result.start !== 0) result.body.destroy();
    assert.equal(result.start, 0, 'a changed object is never served from the middle');
    assert.ok((await readAll(result.body)).equals(after));
  },

  async 'read and stat: an abort ends the request and the body, nothing hangs'(s) {
    const uri = await s.put(fresh('abort'), content(2 * 1024 * 1024));
    const aborted = AbortSignal.abort(new Error('test abort'));
    await assert.rejects(s.driver.stat(ref(uri), { signal: aborted }), 'stat with an aborted signal');
    await assert.rejects(s.driver.read(ref(uri), { signal: aborted }), 'read with an aborted signal');
    const controller = new AbortController();
    const result = await readOk(s.driver, uri, { signal: controller.signal });
    const ended = new Promise<void>((resolve) => result.body.once('close', () => resolve()));
    result.body.once('data', () => controller.abort(new Error('test abort')));
    result.body.on('error', () => undefined);
    result.body.resume();
    const timer = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the body did not end within 10 s of the abort')), 10_000).unref());
    await Promise.race([ended, timer]);
  },

  async 'errors: refused access is AccessDeniedError on stat and read'(s) {
    const denied = s.denied!;
    const uri = denied.uri(fresh('denied'));
    await rejectsWith(denied.driver.stat(ref(uri)), AccessDeniedError, 'stat');
    await rejectsWith(denied.driver.read(ref(uri)), AccessDeniedError, 'read');
    if (s.capabilities.list && denied.driver.list !== undefined) {
      await rejectsWith(denied.driver.list(prefixRef(uri.slice(0, uri.lastIndexOf('/') + 1))), AccessDeniedError, 'list');
    }
    if (s.capabilities.write && denied.driver.write !== undefined) {
      await rejectsWith(denied.driver.write(ref(uri), bufferSource(content(10)), { checksums: {}, ifAbsent: true }), AccessDeniedError, 'write');
    }
  },

  async 'errors: an unreachable store is a retryable TransferError'(s) {
    const { driver, uri } = s.unreachable!;
    for (const [what, call] of [
      ['stat', () => driver.stat(ref(uri))],
      ['read', () => driver.read(ref(uri))],
    ] as const) {
      const error = await rejectsWith(call(), TransferError, what);
      assert.ok(isFlinkArtifactsError(error) && error.retryable, `${what}: retryable`);
    }
  },

  async 'write: creates, stores our SHA-256, refuses a second create-only write, replaces when asked'(s) {
    const uri = s.uri(fresh('write'));
    const data = content(100_000);
    const written = await s.driver.write!(ref(uri), bufferSource(data), { checksums: { sha256: sha256(data), md5: md5(data) }, ifAbsent: true });
    assert.equal(written.size, data.length);
    assert.ok((await readAll((await readOk(s.driver, uri)).body)).equals(data));
    if (s.capabilities.keepsSha256) assert.equal((await s.driver.stat(ref(uri)))?.checksums.sha256, sha256(data), 'the SHA-256 is kept');
    const other = content(1000, 3);
    await rejectsWith(s.driver.write!(ref(uri), bufferSource(other), { checksums: {}, ifAbsent: true }), ObjectExistsError, 'a second create-only write');
    assert.ok((await readAll((await readOk(s.driver, uri)).body)).equals(data), 'the losing write changed nothing');
    await s.driver.write!(ref(uri), bufferSource(other), { checksums: {}, ifAbsent: false });
    assert.ok((await readAll((await readOk(s.driver, uri)).body)).equals(other), 'an unconditional write replaces');
  },

  async 'write: of concurrent create-only writes exactly one wins, the rest are ObjectExistsError'(s) {
    const uri = s.uri(fresh('race'));
    const contents = Array.from({ length: 5 }, (_, i) => content(50_000 + i, i));
    const outcomes = await Promise.allSettled(contents.map((data) => s.driver.write!(ref(uri), bufferSource(data), { checksums: {}, ifAbsent: true })));
    const winners = outcomes.flatMap((outcome, i) => (outcome.status === 'fulfilled' ? [i] : []));
    assert.equal(winners.length, 1, `exactly one winner, got ${winners.length}`);
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') assert.ok(outcome.reason instanceof ObjectExistsError, `a loser fails with ObjectExistsError, got ${(outcome.reason as Error).message}`);
    }
    assert.ok((await readAll((await readOk(s.driver, uri)).body)).equals(contents[winners[0]!]!), 'the store holds the winner\'s bytes');
  },

  async 'write: an aborted write leaves nothing under the name'(s) {
    const uri = s.uri(fresh('aborted-write'));
    const controller = new AbortController();
    const stalling: UploadSource = {
      size: 4 * 1024 * 1024,
      open: () => {
        let sent = false;
        return new Readable({
          read() {
            // Half the bytes, then nothing: only the abort can end it.
            if (sent) return;
            sent = true;
            this.push(Buffer.alloc(2 * 1024 * 1024, 1));
            setTimeout(() => controller.abort(new Error('test abort')), 50);
          },
        });
      },
    };
    await assert.rejects(s.driver.write!(ref(uri), stalling, { checksums: {}, ifAbsent: true, signal: controller.signal }), 'the aborted write rejects');
    assert.equal(await s.driver.stat(ref(uri)), undefined, 'no object under the name');
  },

  async 'write: into a missing bucket is ArtifactNotFoundError'(s) {
    await rejectsWith(s.driver.write!(ref(s.missingContainerUri!), bufferSource(content(10)), { checksums: {}, ifAbsent: true }), ArtifactNotFoundError, 'write');
  },

  async 'list: every object under the prefix, as stat describes it, and nothing else'(s) {
    const dir = fresh('list').replace(/\/list\.jar$/, '');
    const names = [`${dir}/p/a.jar`, `${dir}/p/b.jar`];
    for (const [i, name] of names.entries()) await s.put(name, content(1000 + i));
    await s.put(`${dir}/q/c.jar`, content(10));
    const listed = await s.driver.list!(prefixRef(s.uri(`${dir}/p/`)));
    assert.deepEqual([...listed.keys()].sort(), names.map((name) => s.listKey(name)).sort());
    for (const name of names) {
      const entry = listed.get(s.listKey(name))!;
      const info = await s.driver.stat(ref(s.uri(name)));
      assert.equal(entry.size, info?.size, `${name}: size`);
      assert.equal(entry.version, info?.version, `${name}: version`);
      if (entry.checksums.md5 !== undefined) assert.equal(entry.checksums.md5, info?.checksums.md5, `${name}: md5`);
    }
    assert.equal((await s.driver.list!(prefixRef(s.uri(`${dir}/empty/`)))).size, 0, 'an empty prefix lists nothing');
  },

  async 'hash: the checksums of the stored bytes'(s) {
    const data = content(80_000);
    const uri = await s.put(fresh('hash'), data);
    assert.deepEqual(await s.driver.hash!(ref(uri), ['sha256', 'md5']), { sha256: sha256(data), md5: md5(data) });
  },
};

/** What a driver declares about its store, before any server starts: which checks apply. */
export interface Profile extends Capabilities {
  /** The subject has a driver or URI the store refuses. */
  readonly denied: boolean;
  /** The subject has a driver for an address where nothing listens. */
  readonly unreachable: boolean;
}

/** What a check needs beyond the mandatory methods. */
export const REQUIRES: Readonly<Record<string, (profile: Profile) => boolean>> = {
  'errors: refused access is AccessDeniedError on stat and read': (p) => p.denied,
  'errors: an unreachable store is a retryable TransferError': (p) => p.unreachable,
  'write: creates, stores our SHA-256, refuses a second create-only write, replaces when asked': (p) => p.write,
  'write: of concurrent create-only writes exactly one wins, the rest are ObjectExistsError': (p) => p.write,
  'write: an aborted write leaves nothing under the name': (p) => p.write,
  'write: into a missing bucket is ArtifactNotFoundError': (p) => p.write && p.containers,
  'list: every object under the prefix, as stat describes it, and nothing else': (p) => p.list,
  'hash: the checksums of the stored bytes': (p) => p.hash,
};

/** The checks that apply to a profile. */
export function applicableChecks(profile: Profile): [string, Check][] {
  return Object.entries(CHECKS).filter(([title]) => REQUIRES[title]?.(profile) ?? true);
}

/**
 * Registers the suite for one driver: one test per check that its declared profile admits,
 * plus one that holds the profile to the truth (the driver's optional methods, the subject's
 * parts), so a capability cannot be declared away to dodge its checks.
 */
export function driverConformance(test: TestFn, name: string, profile: Profile, makeSubject: () => Promise<ConformanceSubject>): void {
  let shared: Promise<ConformanceSubject> | undefined;
  const subject = (): Promise<ConformanceSubject> => (shared ??= makeSubject());
  test.after.always(async () => {
    if (shared !== undefined) await (await shared).stop();
  });
  test(`${name} conformance: the declared profile is the driver's and the subject's`, async (t) => {
    const s = await subject();
    t.deepEqual(s.capabilities, { write: profile.write, list: profile.list, hash: profile.hash, statesMd5: profile.statesMd5, keepsSha256: profile.keepsSha256, containers: profile.containers });
    t.is(s.driver.write !== undefined, profile.write, 'write');
    t.is(s.driver.list !== undefined, profile.list, 'list');
    t.is(s.driver.hash !== undefined, profile.hash, 'hash');
    t.is(s.denied !== undefined, profile.denied, 'denied');
    t.is(s.unreachable !== undefined, profile.unreachable, 'unreachable');
    t.is(s.missingContainerUri !== undefined, profile.write && profile.containers, 'missing container');
  });
  for (const [title, check] of applicableChecks(profile)) {
    test(`${name} conformance: ${title}`, async (t) => {
      await check(await subject());
      t.pass();
    });
  }
}
