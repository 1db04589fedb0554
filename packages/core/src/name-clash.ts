import { NameClashError } from './errors.ts';
import type { ArtifactUri } from './uri.ts';

/**
 * Every artifact lands in one directory under its file name, so two different URIs with the
 * same file name cannot both be fetched (Flink silently keeps the first). Identical URIs are
 * one artifact, not a clash.
 *
 * @throws NameClashError naming both URIs.
 */
export function assertNoNameClash(uris: Iterable<Pick<ArtifactUri, 'raw' | 'display' | 'fileName'>>): void {
  const byName = new Map<string, Pick<ArtifactUri, 'raw' | 'display'>>();
  for (const uri of uris) {
    const other = byName.get(uri.fileName);
    if (other !== undefined && other.raw !== uri.raw) {
      throw new NameClashError(`${other.display} and ${uri.display} would both be saved as ${uri.fileName}`, {
        hint: 'rename one of them: every artifact lands in one directory under its file name',
      });
    }
    byName.set(uri.fileName, uri);
  }
}
