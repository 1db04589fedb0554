import { ConfigError, firstSet, parseFlinkBoolean, readString, type FlinkConfig } from '@flink-artifacts/core';

/** The operator's `job.upgradeMode` values. */
export const UPGRADE_MODES = ['stateless', 'savepoint', 'last-state'] as const;
export type UpgradeMode = (typeof UPGRADE_MODES)[number];

/**
 * What Flink's `run` options say about the job, for the manifests that carry it themselves
 * (`deployment`, `flinkdeployment`); `bin/flink` gets the options as they were given.
 */
export interface JobOptions {
  /** `-c/--class`: the main class, when the jar's manifest does not name it. */
  readonly entryClass?: string | undefined;
  /** The program's arguments: everything after the jar. */
  readonly args?: readonly string[] | undefined;
  /** `-p/--parallelism`. @default `parallelism.default` */
  readonly parallelism?: number | undefined;
  /** `-s/--fromSavepoint`. @default `execution.state-recovery.path` (`execution.savepoint.path` before 1.20) */
  readonly savepointPath?: string | undefined;
  /** `-n/--allowNonRestoredState`. @default `execution.state-recovery.ignore-unclaimed-state` (or its pre-1.20 name) */
  readonly allowNonRestoredState?: boolean | undefined;
  /** The operator's `job.upgradeMode`. @default "stateless" */
  readonly upgradeMode?: UpgradeMode | undefined;
}

/** Job options with Flink's config keys filled in where no option was given. */
export interface ResolvedJob {
  readonly entryClass: string | undefined;
  readonly args: readonly string[];
  readonly parallelism: number | undefined;
  readonly savepointPath: string | undefined;
  readonly allowNonRestoredState: boolean;
  readonly upgradeMode: UpgradeMode;
}

const SAVEPOINT_PATH_KEYS = ['execution.state-recovery.path', 'execution.savepoint.path'];
const IGNORE_UNCLAIMED_KEYS = ['execution.state-recovery.ignore-unclaimed-state', 'execution.savepoint.ignore-unclaimed-state'];
const HA_KEYS = ['high-availability.type', 'high-availability'];
const SAVEPOINT_DIR_KEYS = ['execution.checkpointing.savepoint-dir', 'state.savepoints.dir'];
const CHECKPOINT_DIR_KEYS = ['execution.checkpointing.dir', 'state.checkpoints.dir'];

/** A positive whole number. @throws ConfigError naming `what`. */
export function positiveWholeNumber(value: string, what: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw new ConfigError(`${what} must be a whole number of at least 1, got ${JSON.stringify(value)}`, { key: what });
  }
  return n;
}

/** Whether the configuration enables JobManager high availability (Kubernetes, ZooKeeper or a factory class). */
export function highAvailabilityEnabled(config: FlinkConfig): boolean {
  const ha = firstSet(config, HA_KEYS);
  return ha !== undefined && ha[1].toLowerCase() !== 'none';
}

/**
 * The job as the options and Flink's config keys describe it.
 *
 * @throws ConfigError for malformed values.
 */
export function resolveJob(config: FlinkConfig, options: JobOptions = {}): ResolvedJob {
  const parallelismText = readString(config, 'parallelism.default');
  const ignore = firstSet(config, IGNORE_UNCLAIMED_KEYS);
  const upgradeMode = options.upgradeMode ?? 'stateless';
  if (!UPGRADE_MODES.includes(upgradeMode)) {
    throw new ConfigError(`--upgrade-mode must be one of ${UPGRADE_MODES.join(', ')}, got ${JSON.stringify(upgradeMode)}`);
  }
  return {
    entryClass: options.entryClass,
    args: options.args ?? [],
    parallelism: options.parallelism ?? (parallelismText === undefined ? undefined : positiveWholeNumber(parallelismText, 'parallelism.default')),
    savepointPath: options.savepointPath ?? firstSet(config, SAVEPOINT_PATH_KEYS)?.[1],
    allowNonRestoredState: options.allowNonRestoredState ?? (ignore === undefined ? false : parseFlinkBoolean(ignore[1], ignore[0], false)),
    upgradeMode,
  };
}

/**
 * Refuses what the Flink Kubernetes Operator's validator would refuse for an upgrade mode:
 * `last-state` needs high availability, both stateful modes a checkpoint directory, `savepoint`
 * a savepoint directory.
 *
 * @throws ConfigError naming the missing key.
 */
export function checkUpgradeMode(config: FlinkConfig, mode: UpgradeMode): void {
  if (mode === 'last-state' && !highAvailabilityEnabled(config)) {
    throw new ConfigError('upgrade mode last-state needs JobManager high availability', {
      key: 'high-availability.type',
      hint: 'set high-availability.type=kubernetes and high-availability.storageDir, or use --upgrade-mode savepoint or stateless',
    });
  }
  if (mode !== 'stateless' && firstSet(config, CHECKPOINT_DIR_KEYS) === undefined) {
    throw new ConfigError(`upgrade mode ${mode} needs a checkpoint directory`, {
      key: CHECKPOINT_DIR_KEYS[0],
      hint: `set ${CHECKPOINT_DIR_KEYS[0]} (state.checkpoints.dir before Flink 1.20), as the operator requires for last-state and savepoint`,
    });
  }
  if (mode === 'savepoint' && firstSet(config, SAVEPOINT_DIR_KEYS) === undefined) {
    throw new ConfigError('upgrade mode savepoint needs a savepoint directory', {
      key: SAVEPOINT_DIR_KEYS[0],
      hint: `set ${SAVEPOINT_DIR_KEYS[0]} (state.savepoints.dir before Flink 1.20)`,
    });
  }
}
