import { createHash } from 'node:crypto';
import test from 'ava';
import { base64ToHex, compareChecksums, createChecksumAccumulator, crc32cUpdate } from '../src/index.ts';

test('crc32c matches the standard check value and is chunking-independent', (t) => {
  t.is(crc32cUpdate(0, Buffer.from('123456789')).toString(16), 'e3069283');
  const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 7) & 0xff));
  const whole = crc32cUpdate(0, data);
  let pieces = 0;
  for (let i = 0; i < data.length; i += 13) pieces = crc32cUpdate(pieces, data.subarray(i, i + 13));
  t.is(pieces, whole);
});

test('the accumulator computes exactly the requested checksums', (t) => {
  const acc = createChecksumAccumulator(['md5', 'sha256', 'crc32c']);
  acc.update(Buffer.from('hello '));
  acc.update(Buffer.from('world'));
  const sums = acc.digest();
  t.is(sums.md5, createHash('md5').update('hello world').digest('hex'));
  t.is(sums.sha256, createHash('sha256').update('hello world').digest('hex'));
  t.is(sums.crc32c, 'c99465aa');
  t.deepEqual(createChecksumAccumulator([]).digest(), {});
});

test('GCS base64 checksums convert to hex; comparison reports mismatches', (t) => {
  t.is(base64ToHex('yZRlqg=='), 'c99465aa');
  t.deepEqual(compareChecksums({ md5: 'AA', crc32c: 'bb' }, { md5: 'aa', crc32c: 'cc', sha256: 'x' }), { compared: ['md5', 'crc32c'], mismatched: ['crc32c'] });
});
