import { AccessDeniedError, ArtifactNotFoundError, NotAFileError, TransferError, type FlinkArtifactsError } from './errors.ts';

/** What was being done to a file when the filesystem refused. */
export type FileAction = 'read' | 'write';

/**
 * The one mapping of filesystem errors (errno codes) to typed errors, for every package that
 * touches local files: the file store, the upload's local sources, the fetcher's target
 * directory. `subject` names what the user knows (a URI, a path); reads say "<subject>: ...",
 * writes "cannot write <subject>: ...". None is retryable: a disk does not heal by itself.
 *
 * @param noun what a missing one is called ("local file": "no such local file").
 */
export function fileSystemError(error: unknown, subject: string, action: FileAction, noun = 'file'): FlinkArtifactsError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const prefix = action === 'write' ? `cannot write ${subject}` : subject;
  const writeHint = action === 'write' ? { hint: 'the directory must exist and be writable by this user (for a fetch: user.artifacts.base-dir)' } : {};
  switch (code) {
    case 'ENOENT':
      return new ArtifactNotFoundError(action === 'write' ? `${prefix}: its directory does not exist` : `${prefix}: no such ${noun}`, { cause: error });
    case 'ENOTDIR':
      return new ArtifactNotFoundError(`${prefix}: a parent is not a directory`, { cause: error });
    case 'EACCES':
    case 'EPERM':
      return new AccessDeniedError(`${prefix}: permission denied`, { cause: error, ...writeHint });
    case 'EROFS':
      return new AccessDeniedError(`${prefix}: read-only filesystem`, { cause: error, ...writeHint });
    case 'EISDIR':
      return new NotAFileError(`${subject} is a directory`, { cause: error });
    case 'ENOSPC':
    case 'EDQUOT':
      return new TransferError(`${prefix}: no space left on device`, { cause: error, hint: 'give the volume more room' });
    default:
      return new TransferError(`${prefix}: ${(error as Error | undefined)?.message ?? String(error)}`, { cause: error });
  }
}
