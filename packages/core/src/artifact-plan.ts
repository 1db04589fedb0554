import type { FlinkConfig } from './config.ts';
import { RawHttpDisabledError } from './errors.ts';
import { assertNoNameClash } from './name-clash.ts';
import { FlinkKeys, readArtifactList, readClusterLocation, readHttpSettings, readJobUri, type ClusterLocation } from './options.ts';
import { targetPath } from './paths.ts';
import { parseArtifactUri, type ArtifactUri } from './uri.ts';

/** Whether an artifact is the job jar or an entry of `user.artifacts.artifact-list`. */
export type ArtifactRole = 'job' | 'artifact';

/** One artifact of a plan. */
export interface PlannedArtifact {
  readonly role: ArtifactRole;
  readonly uri: ArtifactUri;
  /**
   * `download`: fetched into the cluster directory. `local`: already on this machine
   * (`local://`, a plain path): checked, not copied.
   */
  readonly mode: 'download' | 'local';
  /** Where the file is once fetched: in the cluster directory, or the local path itself. */
  readonly path: string;
}

/**
 * The artifact set of a job, as the fetcher will fetch it and deploy wires it: decided before
 * any byte moves.
 */
export interface FetchPlan {
  readonly location: ClusterLocation;
  /** The job jar, if one was given (JOB_URI or `pipeline.jars`). */
  readonly job: PlannedArtifact | undefined;
  /** `user.artifacts.artifact-list`, in order, without entries identical to the job URI or each other. */
  readonly artifacts: readonly PlannedArtifact[];
}

/** Inputs of {@link planFetch}. */
export interface PlanFetchOptions {
  readonly config: FlinkConfig;
  /** JOB_URI as given on the command line. @default the single entry of `pipeline.jars` */
  readonly jobUri?: string | undefined;
  /** Resolves a relative `user.artifacts.base-dir`. @default process.cwd() */
  readonly cwd?: string;
}

/**
 * Reads the options and validates every URI: schemes, raw-http policy, file names, clashes.
 * Throws on the first problem, so that a bad list fails before anything is downloaded.
 *
 * @throws ConfigError, InvalidUriError, UnsupportedSchemeError, UnsafePathError,
 *   RawHttpDisabledError, NameClashError.
 */
export function planFetch(options: PlanFetchOptions): FetchPlan {
  const { config } = options;
  const location = readClusterLocation(config, options.cwd);
  const http = readHttpSettings(config);
  const jobText = readJobUri(config, options.jobUri);
  const listed = readArtifactList(config);

  const seen = new Map<string, PlannedArtifact>();

  const plan = (raw: string, role: ArtifactRole): PlannedArtifact | undefined => {
    const uri = parseArtifactUri(raw);
    if (seen.has(uri.raw)) return undefined;
    if (uri.location.scheme === 'http' && !http.rawHttpEnabled) {
      throw new RawHttpDisabledError(`plain http is disabled: ${uri.display}`, {
        hint: `use https, or set ${FlinkKeys.rawHttpEnabled}=true`,
      });
    }
    const mode = uri.location.scheme === 'local' ? 'local' : 'download';
    const path = uri.location.scheme === 'local' ? uri.location.path : targetPath(location.clusterDir, uri.fileName, uri.display);
    const planned: PlannedArtifact = { role, uri, mode, path };
    seen.set(uri.raw, planned);
    return planned;
  };

  const job = jobText === undefined ? undefined : plan(jobText, 'job');
  const artifacts: PlannedArtifact[] = [];
  for (const raw of listed) {
    const planned = plan(raw, 'artifact');
    if (planned !== undefined) artifacts.push(planned);
  }
  // local:// artifacts stay where they are and take no name in the cluster directory.
  assertNoNameClash([...seen.values()].filter((item) => item.mode === 'download').map((item) => item.uri));
  return { location, job, artifacts };
}

/** The plan's artifacts in transfer order: job first. */
export function plannedArtifacts(plan: FetchPlan): PlannedArtifact[] {
  return plan.job === undefined ? [...plan.artifacts] : [plan.job, ...plan.artifacts];
}
