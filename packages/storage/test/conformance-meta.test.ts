/**
 * The conformance suite notices a broken driver: each check is pointed at a real file driver
 * with one method deliberately broken, and must fail. A suite that passes a broken `list`,
 * ranged read or conditional create proves nothing.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import test from 'ava';
import type { StorageDriver } from '@flink-artifacts/core';
import { tempDir } from '@flink-artifacts/test-helpers/fixtures';
import { createFileDriver } from '../src/file-driver.ts';
import { CHECKS, applicableChecks, type ConformanceSubject } from './conformance.ts';

async function fileSubject(driver: StorageDriver): Promise<ConformanceSubject> {
  const root = await tempDir();
  return {
    driver,
    capabilities: { write: true, list: true, hash: true, statesMd5: false, keepsSha256: false, containers: false },
    async put(name, data) {
      await mkdir(dirname(join(root, name)), { recursive: true });
      await writeFile(join(root, name), data);
      return `file://${join(root, name)}`;
    },
    uri: (name) => `file://${root}/${name}`,
    listKey: (name) => join(root, name),
    stop: async () => undefined,
  };
}

function broken(patch: (real: StorageDriver) => Partial<StorageDriver>): StorageDriver {
  const real = createFileDriver();
  return { ...real, ...patch(real) };
}

const breakages: Record<string, { check: string; driver: StorageDriver }> = {
  'list that misses objects': {
    check: 'list: every object under the prefix, as stat describes it, and nothing else',
    driver: broken((real) => ({ list: async (prefix, options) => new Map([...(await real.list!(prefix, options))].slice(1)) })),
  },
  'list that throws': {
    check: 'list: every object under the prefix, as stat describes it, and nothing else',
    driver: broken(() => ({ list: async () => Promise.reject(new Error('list broken')) })),
  },
  'ranged read that ignores the start': {
    check: 'read: a ranged read pinned to the version gives the rest of the same bytes',
    driver: broken((real) => ({ read: async (ref, options = {}) => {
      const whole = await real.read(ref, { ...options, start: 0 });
      return whole.notModified ? whole : { ...whole, start: options.start ?? 0 };
    } })),
  },
  'bounded ranged read that sends the rest of the object': {
    check: 'read: bounded ranges pinned to the version give exactly their bytes (the parallel ranges of a large object)',
    driver: broken((real) => ({ read: (ref, options = {}) => real.read(ref, { ...options, end: undefined }) })),
  },
  'ranged read that ignores the version it is pinned to': {
    check: 'read: a ranged read pinned to an old version never splices the new bytes',
    driver: broken((real) => ({ read: (ref, options = {}) => real.read(ref, { ...options, ifMatch: undefined }) })),
  },
  'create-only write that overwrites': {
    check: 'write: creates, stores our SHA-256, refuses a second create-only write, replaces when asked',
    driver: broken((real) => ({ write: (ref, source, options) => real.write!(ref, source, { ...options, ifAbsent: false }) })),
  },
  'create-only write that lets every racer win': {
    check: 'write: of concurrent create-only writes exactly one wins, the rest are ObjectExistsError',
    driver: broken((real) => ({ write: (ref, source, options) => real.write!(ref, source, { ...options, ifAbsent: false }) })),
  },
  'stat that ignores a missing object': {
    check: 'stat: size, version and only true checksums; undefined when missing',
    driver: broken((real) => ({ stat: async (ref, options) => (await real.stat(ref, options)) ?? { size: 0, checksums: {}, version: '0' } })),
  },
  'hash that returns the wrong algorithm': {
    check: 'hash: the checksums of the stored bytes',
    driver: broken((real) => ({ hash: (ref, _algorithms, options) => real.hash!(ref, ['sha256'], options) })),
  },
};

test('the real file driver passes every applicable check', async (t) => {
  const subject = await fileSubject(createFileDriver());
  const profile = { ...subject.capabilities, denied: false, unreachable: false };
  for (const [title, check] of applicableChecks(profile)) await t.notThrowsAsync(check(subject), title);
});

for (const [name, { check, driver }] of Object.entries(breakages)) {
  test(`a driver with a ${name} fails "${check}"`, async (t) => {
    t.truthy(CHECKS[check], 'the check exists');
    await t.throwsAsync(CHECKS[check]!(await fileSubject(driver)));
  });
}
