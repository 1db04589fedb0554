import { ArtifactNotFoundError, FlinkArtifactsError, readTransferPolicy, runTransfers, type ArtifactUri, type DriverPicker, type FlinkConfig } from '@flink-artifacts/core';
import { openDrivers } from '@flink-artifacts/storage';

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
  const drivers = await openDrivers(options.config, { given: options.drivers });
  try {
    const results = await runTransfers<ArtifactUri, CheckResult>(
      {
        items: remote,
        displayOf: (uri) => uri.display,
        async transfer(uri, context): Promise<CheckResult> {
          const driver = await drivers.picker.driverFor(uri.location);
          const found = await context.retry(() => context.timed((signal) => driver.stat(uri, { signal })));
          if (found === undefined) throw new ArtifactNotFoundError(`${uri.display}: not found`);
          return { uri: uri.display, status: 'exists', bytes: 0 };
        },
        failed: (uri, error) => ({ uri: uri.display, status: 'failed', bytes: 0, error }),
      },
      { concurrency: options.concurrency ?? 8, policy: readTransferPolicy(options.config), signal: options.signal, abortedMessage: 'artifact check aborted' },
    );
    const problems = results.flatMap((result) => (result.error === undefined ? [] : [{ uri: result.uri, ...result.error }]));
    if (problems.length > 0) throw new RemoteCheckFailedError(problems, remote.length);
    return remote.length;
  } finally {
    await drivers.close();
  }
}

/** The check's result for one artifact. */
interface CheckResult {
  readonly uri: string;
  readonly status: 'exists' | 'failed';
  readonly bytes: number;
  readonly error?: { readonly code: string; readonly message: string };
}
