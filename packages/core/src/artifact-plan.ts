import type { FlinkConfig } from './config.ts';
import { ConfigError, RawHttpDisabledError } from './errors.ts';
import { assertNoNameClash } from './name-clash.ts';
import { FlinkKeys, readArtifactList, readClusterLocation, readHttpSettings, readJobUri, type ClusterLocation } from './options.ts';
import { targetPath } from './paths.ts';
import { checkSource, readSourcePolicy, type SourcePolicy } from './source-policy.ts';
import { parseArtifactUri, type ArtifactUri } from './uri.ts';

/** Whether an artifact is the job jar or an entry of `user.artifacts.artifact-list`. */
export type ArtifactRole = 'job' | 'artifact';

/** One distinct artifact of a job. */
export interface ArtifactEntry {
  readonly role: ArtifactRole;
  readonly uri: ArtifactUri;
}

/**
 * A job's artifacts as Flink's options give them, read once by every consumer (upload, fetch,
 * deploy): the job jar (JOB_URI or the single entry of `pipeline.jars`) and the list, each URI
 * parsed, with duplicates collapsed. A list entry that names the same artifact as the job jar,
 * or as an earlier entry ({@link artifactIdentity}), is transferred once.
 */
export interface ArtifactSet {
  readonly job: ArtifactEntry | undefined;
  /** `user.artifacts.artifact-list`, in order, without entries identical to the job or an earlier one. */
  readonly artifacts: readonly ArtifactEntry[];
  /** `user.artifacts.artifact-list` exactly as listed (duplicates included), for rewriting it. */
  readonly listed: readonly ArtifactUri[];
}

/**
 * Reads and parses the job jar and the artifact list.
 *
 * @throws ConfigError, InvalidUriError, UnsupportedSchemeError, UnsafePathError.
 */
export function readArtifactSet(config: FlinkConfig, jobUri?: string): ArtifactSet {
  const jobText = readJobUri(config, jobUri);
  const job = jobText === undefined ? undefined : { role: 'job' as const, uri: parseArtifactUri(jobText) };
  const listed = readArtifactList(config).map((raw) => parseArtifactUri(raw));
  const seen = new Set(job === undefined ? [] : [artifactIdentity(job.uri)]);
  const artifacts: ArtifactEntry[] = [];
  for (const uri of listed) {
    const identity = artifactIdentity(uri);
    if (seen.has(identity)) continue;
    seen.add(identity);
    artifacts.push({ role: 'artifact', uri });
  }
  return { job, artifacts, listed };
}

/**
 * What makes two URIs the same artifact: where they point (after scheme aliases, and a plain
 * path is `local://`) and the pin, not how they are spelled. `/x/job.jar` and
 * `local:///x/job.jar`, or `s3a://b/k` and `s3://b/k`, are one artifact, transferred once.
 */
export function artifactIdentity(uri: ArtifactUri): string {
  return `${JSON.stringify(uri.location)}#${uri.sha256 ?? ''}`;
}

/**
 * Refuses an empty set for a transfer, as Flink refuses to start an application without a jar
 * ("The 'pipeline.jars' config must contain one JAR."): an init container that fetches nothing
 * succeeds, and the JobManager fails later, far from the cause.
 *
 * @throws ConfigError naming `pipeline.jars` and the list.
 */
export function requireArtifacts(set: Pick<ArtifactSet, 'job' | 'artifacts'>, verb: 'fetch' | 'upload'): void {
  if (set.job !== undefined || set.artifacts.length > 0) return;
  throw new ConfigError(`nothing to ${verb}: no job jar (JOB_URI or ${FlinkKeys.pipelineJars}) and ${FlinkKeys.artifactList} is empty`, {
    key: FlinkKeys.pipelineJars,
    hint: `give the job jar as JOB_URI or in ${FlinkKeys.pipelineJars} (Flink: "The 'pipeline.jars' config must contain one JAR."), or list artifacts in ${FlinkKeys.artifactList}`,
  });
}

/** The entries of a set in transfer order: job first. */
export function artifactEntries<E>(set: { readonly job: E | undefined; readonly artifacts: readonly E[] }): E[] {
  return set.job === undefined ? [...set.artifacts] : [set.job, ...set.artifacts];
}

/** One artifact of a fetch plan. */
export interface PlannedArtifact extends ArtifactEntry {
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
 * Whether the fetcher may read `uri` at all: the source policy, and plain http only with
 * `user.artifacts.raw-http-enabled`. For checks made before a fetch (render, run-application).
 *
 * @throws SourceRefusedError, RawHttpDisabledError.
 */
export function checkFetchable(uri: ArtifactUri, policy: SourcePolicy, rawHttpEnabled: boolean): void {
  checkSource(uri, policy);
  if (uri.location.scheme === 'http' && !rawHttpEnabled) {
    throw new RawHttpDisabledError(`plain http is disabled: ${uri.display}`, {
      hint: `use https, or set ${FlinkKeys.rawHttpEnabled}=true`,
    });
  }
}

/**
 * Reads the options and validates every URI: schemes, raw-http policy, file names, clashes.
 * Throws on the first problem, so that a bad list fails before anything is downloaded.
 *
 * @throws ConfigError, InvalidUriError, UnsupportedSchemeError, UnsafePathError,
 *   RawHttpDisabledError, NameClashError, SourceRefusedError (the source policy).
 */
export function planFetch(options: PlanFetchOptions): FetchPlan {
  const { config } = options;
  const location = readClusterLocation(config, options.cwd);
  const http = readHttpSettings(config);
  const policy = readSourcePolicy(config);
  const set = readArtifactSet(config, options.jobUri);

  const plan = ({ role, uri }: ArtifactEntry): PlannedArtifact => {
    checkFetchable(uri, policy, http.rawHttpEnabled);
    const mode = uri.location.scheme === 'local' ? 'local' : 'download';
    const path = uri.location.scheme === 'local' ? uri.location.path : targetPath(location.clusterDir, uri.fileName, uri.display);
    return { role, uri, mode, path };
  };
  const job = set.job === undefined ? undefined : plan(set.job);
  const artifacts = set.artifacts.map(plan);
  // local:// artifacts stay where they are and take no name in the cluster directory.
  assertNoNameClash(artifactEntries({ job, artifacts }).filter((item) => item.mode === 'download').map((item) => item.uri));
  return { location, job, artifacts };
}

/** The plan's artifacts in transfer order: job first. */
export function plannedArtifacts(plan: FetchPlan): PlannedArtifact[] {
  return artifactEntries(plan);
}
