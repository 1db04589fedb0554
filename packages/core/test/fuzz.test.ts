/**
 * Property tests of the parsers that take user input: whatever the input, they either return
 * or throw one of our typed errors, and no artifact ever lands outside the cluster directory.
 */
import { dirname } from 'node:path';
import test from 'ava';
import fc from 'fast-check';
import {
  isFlinkArtifactsError,
  parseArtifactUri,
  parseDynamicProperties,
  parseFlinkList,
  parseHttpHeaders,
  parseLegacyFlinkConf,
  parseStandardYaml,
  readClusterLocation,
  targetPath,
} from '../src/index.ts';

const runs = { numRuns: 3000 };

function onlyTypedErrors(t: import('ava').ExecutionContext, run: () => unknown): void {
  try {
    run();
  } catch (error) {
    if (!isFlinkArtifactsError(error)) t.fail(`untyped error: ${String(error)}`);
  }
}

// Text that looks like URIs: schemes, separators, escapes, dots, unicode and control characters.
const uriPart = fc.oneof(
  fc.constantFrom('s3://', 's3a://', 'gs://', 'http://', 'https://', 'file://', 'local://', 'ftp://', '/', '//', '\\', '..', '.', '%2e', '%2E%2e', '%2f', '%5c', '%00', '%ff', '%', '#sha256=', '?', '&', '@', ':', ';', ' ', 'bucket', 'dir', 'job.jar', '\u0000', '\n', 'é', '😀'),
  fc.string({ maxLength: 8 }),
);
const uriLike = fc.array(uriPart, { maxLength: 10 }).map((parts) => parts.join(''));

test('parseArtifactUri: typed errors only; a parsed name is always one plain segment', (t) => {
  fc.assert(
    fc.property(uriLike, (text) => {
      let parsed;
      try {
        parsed = parseArtifactUri(text);
      } catch (error) {
        return isFlinkArtifactsError(error);
      }
      const name = parsed.fileName;
      return name !== '' && name !== '.' && name !== '..' && !/[/\\\u0000]/.test(name);
    }),
    runs,
  );
  t.pass();
});

test('targets never leave the cluster directory, whatever the URI', (t) => {
  const location = readClusterLocation(new Map([['kubernetes.cluster-id', 'fuzz'], ['user.artifacts.base-dir', '/base']]));
  fc.assert(
    fc.property(uriLike, (text) => {
      try {
        const uri = parseArtifactUri(text);
        if (uri.location.scheme === 'local') return true;
        return dirname(targetPath(location.clusterDir, uri.fileName, uri.display)) === location.clusterDir;
      } catch (error) {
        return isFlinkArtifactsError(error);
      }
    }),
    runs,
  );
  t.pass();
});

test('list, header, -D and config file parsers throw typed errors only', (t) => {
  const text = fc.string({ maxLength: 60, unit: fc.oneof(fc.constantFrom(';', ',', ':', '\\', "'", '"', ' ', '=', '\n', '#', '-', '[', ']', '{', '}'), fc.string({ minLength: 1, maxLength: 1 })) });
  fc.assert(
    fc.property(text, (value) => {
      onlyTypedErrors(t, () => parseFlinkList(value, 'k'));
      onlyTypedErrors(t, () => parseHttpHeaders(value, 'k'));
      onlyTypedErrors(t, () => parseDynamicProperties([value]));
      onlyTypedErrors(t, () => parseStandardYaml(value, 'config.yaml'));
      onlyTypedErrors(t, () => parseLegacyFlinkConf(value));
      onlyTypedErrors(t, () => readClusterLocation(new Map([['kubernetes.cluster-id', value], ['kubernetes.namespace', value]])));
      return true;
    }),
    runs,
  );
  t.pass();
});

test('a list written with formatFlinkList-style quoting splits back into the same entries', (t) => {
  const entry = fc.string({ minLength: 1, maxLength: 20 }).filter((s) => s.trim() === s && s !== '');
  fc.assert(
    fc.property(fc.array(entry, { minLength: 1, maxLength: 6 }), (entries) => {
      const text = entries.map((e) => `'${e.replaceAll("'", "''")}'`).join(';');
      const back = parseFlinkList(text, 'k');
      return JSON.stringify(back) === JSON.stringify(entries);
    }),
    runs,
  );
  t.pass();
});
