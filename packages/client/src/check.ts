import {
  AbortedError,
  ArtifactNotFoundError,
  FlinkArtifactsError,
  failureSummary,
  readTransferPolicy,
  withRetries,
  type ArtifactUri,
  type DriverPicker,
  type FlinkConfig,
} from '@flink-artifacts/core';
import { createDriverPicker, storageOptionsFromConfig } from '@flink-artifacts/storage';
import pLimit from 'p-limit';

/** Options of {@link checkRemoteArtifacts}. */
export interface CheckRemoteOptions {
  /** Credentials, endpoints, timeouts and retries, as for a fetch. */
  readonly config: FlinkConfig;
  /** The artifacts; `local://` and `file://` ones are skipped (they live in the image or the pod). */
  readonly uris: readonly ArtifactUri[];
  readonly signal?: AbortSignal | undefined;
  /** Requests at once. @default 8 */
  readonly concurrency?: number | undefined;
  /** Drivers to use instead of the built-in ones (tests, embedders). */
  readonly drivers?: DriverPicker | undefined;
}

/** One artifact that is missing or could not be checked. */
export interface CheckProblem {
  readonly uri: string;
  readonly code: string;
  readonly message: string;
}

/** Some remote artifacts are missing or unreadable. Runtime kind: exit 1. */
export class RemoteCheckFailedError extends FlinkArtifactsError {
  readonly problems: readonly CheckProblem[];
  constructor(problems: readonly CheckProblem[], checked: number) {
    super('ERR_ARTIFACT_CHECK', 'runtime', `${problems.length} of ${checked} remote artifacts cannot be fetched: ${problems.map((p) => p.message).join('; ')}`, {
      hint: 'fix the URI or upload the artifact, or skip this check with --no-check',
    });
    this.name = 'RemoteCheckFailedError';
    this.problems = problems;
  }
}

/**
 * Checks before anything is submitted that every remote artifact exists and is readable with
 * these credentials: one metadata request (HEAD) each, concurrently, transient failures retried
 * as for a fetch. A typo then fails here in a second, not as a crash-looping init container.
 *
 * @returns how many artifacts were checked.
 * @throws RemoteCheckFailedError listing every missing or unreadable artifact.
 */
export async function checkRemoteArtifacts(options: CheckRemoteOptions): Promise<number> {
  const remote = options.uris.filter((uri) => uri.location.scheme !== 'local' && uri.location.scheme !== 'file');
  if (remote.length === 0) return 0;
  const policy = readTransferPolicy(options.config);
  const drivers = options.drivers ?? createDriverPicker(await storageOptionsFromConfig(options.config));
  const limit = pLimit(options.concurrency ?? 8);
  const problems: CheckProblem[] = [];
  try {
    await Promise.all(
      remote.map((uri) =>
        limit(async () => {
          try {
            const ref = { location: uri.location, display: uri.display };
            const driver = await drivers.driverFor(uri.location);
            const found = await withRetries(() => driver.stat(ref, { signal: options.signal }), { policy, signal: options.signal });
            if (found === undefined) throw new ArtifactNotFoundError(`${uri.display}: not found`);
          } catch (error) {
            problems.push({ uri: uri.display, ...failureSummary(error, uri.display, options.signal?.aborted === true) });
          }
        }),
      ),
    );
  } finally {
    if (options.drivers === undefined) await drivers.close();
  }
  if (options.signal?.aborted) throw new AbortedError('artifact check aborted');
  if (problems.length > 0) {
    const order = new Map(remote.map((uri, i) => [uri.display, i]));
    throw new RemoteCheckFailedError(problems.sort((a, b) => order.get(a.uri)! - order.get(b.uri)!), remote.length);
  }
  return remote.length;
}
