import { UsageError } from '@flink-artifacts/core';

/** One of `bin/flink run`'s options: its names and whether it takes a value. */
export interface FlinkRunOptionSpec {
  /** Without the dash: `c`, `pyfs`. */
  readonly short: string;
  /** Without the dashes: `class`. */
  readonly long: string;
  readonly takesValue: boolean;
}

/**
 * The options of `flink run` / `flink run-application` (Flink 1.19 to 2.x, CliFrontendParser
 * and the generic CLI), besides `-D`: passed on to `bin/flink` as given.
 */
export const FLINK_RUN_OPTIONS: readonly FlinkRunOptionSpec[] = [
  { short: 'c', long: 'class', takesValue: true },
  { short: 'C', long: 'classpath', takesValue: true },
  { short: 'p', long: 'parallelism', takesValue: true },
  { short: 'd', long: 'detached', takesValue: false },
  { short: 'sae', long: 'shutdownOnAttachedExit', takesValue: false },
  { short: 's', long: 'fromSavepoint', takesValue: true },
  { short: 'n', long: 'allowNonRestoredState', takesValue: false },
  { short: 'cm', long: 'claimMode', takesValue: true },
  { short: 'rm', long: 'restoreMode', takesValue: true },
  { short: 't', long: 'target', takesValue: true },
  { short: 'e', long: 'executor', takesValue: true },
  { short: 'm', long: 'jobmanager', takesValue: true },
  { short: 'z', long: 'zookeeperNamespace', takesValue: true },
  { short: 'py', long: 'python', takesValue: true },
  { short: 'pyfs', long: 'pyFiles', takesValue: true },
  { short: 'pym', long: 'pyModule', takesValue: true },
  { short: 'pyreq', long: 'pyRequirements', takesValue: true },
  { short: 'pyarch', long: 'pyArchives', takesValue: true },
  { short: 'pyexec', long: 'pyExecutable', takesValue: true },
  { short: 'pyclientexec', long: 'pyClientExecutable', takesValue: true },
  { short: 'pypath', long: 'pyPythonPath', takesValue: true },
];

/** A Flink run option as given: its spec, its value, and the exact tokens to pass on. */
export interface FlinkRunOption {
  readonly spec: FlinkRunOptionSpec;
  readonly value: string | undefined;
  readonly tokens: readonly string[];
}

/** One of our own options: whether it takes a value (a yargs string/number option) or not (boolean). */
export interface OwnOptionSpec {
  readonly names: readonly string[];
  readonly takesValue: boolean;
}

/** A command line in Flink's syntax: `[OPTIONS] <jar-file> <arguments>`. */
export interface FlinkRunCommandLine {
  /** Our own options, as tokens for yargs. */
  readonly own: string[];
  /** Flink's run options, in order. */
  readonly flinkOptions: FlinkRunOption[];
  /** The job jar, when given on the command line. */
  readonly jobUri: string | undefined;
  /** The program's arguments. */
  readonly programArgs: string[];
  /** Whether `--` separated the program's arguments. */
  readonly separated: boolean;
}

function optionName(token: string): { dashes: number; name: string; inline: string | undefined } {
  const dashes = token.startsWith('--') ? 2 : 1;
  const body = token.slice(dashes);
  const eq = dashes === 2 ? body.indexOf('=') : -1;
  return eq === -1 ? { dashes, name: body, inline: undefined } : { dashes, name: body.slice(0, eq), inline: body.slice(eq + 1) };
}

/**
 * Splits a `render` / `run-application` command line as `bin/flink run` reads its own: options
 * first, then the job jar, then the program's arguments, which are the program's even when they
 * look like options. A `--` also ends the options: what follows it is the program's, and what
 * precedes it may mix options and the jar (`JOB_URI -Dk=v -- --input x`). Options we do not know
 * are an error, not silently the program's.
 *
 * @throws UsageError naming the token.
 */
export function splitFlinkRunArgv(tokens: readonly string[], own: readonly OwnOptionSpec[]): FlinkRunCommandLine {
  const dash = tokens.indexOf('--');
  const before = dash === -1 ? tokens : tokens.slice(0, dash);
  const ownByName = new Map(own.flatMap((spec) => spec.names.map((name) => [name, spec] as const)));
  const result: FlinkRunCommandLine = { own: [], flinkOptions: [], jobUri: undefined, programArgs: dash === -1 ? [] : tokens.slice(dash + 1), separated: dash !== -1 };
  let jobUri: string | undefined;
  for (let i = 0; i < before.length; i++) {
    const token = before[i]!;
    if (jobUri !== undefined && dash === -1) {
      result.programArgs.push(...before.slice(i));
      break;
    }
    if (!token.startsWith('-') || token === '-') {
      if (jobUri !== undefined) {
        throw new UsageError(`unexpected argument ${JSON.stringify(token)} after the job jar ${jobUri}`, {
          hint: 'the program\'s arguments go after the jar and a "--": <options> <jar> -- <arguments>',
        });
      }
      jobUri = token;
      continue;
    }
    // -Dkey=value, glued as Flink writes it.
    if (token.startsWith('-D') && !token.startsWith('--') && token.length > 2) {
      result.own.push('-D', token.slice(2));
      continue;
    }
    const { dashes, name, inline } = optionName(token);
    const ownSpec = ownByName.get(name.replace(/^no-/, ''));
    const flinkSpec = FLINK_RUN_OPTIONS.find((spec) => (dashes === 1 ? spec.short === name : spec.long === name));
    const spec = ownSpec ?? flinkSpec;
    if (spec === undefined) {
      throw new UsageError(`unknown option ${token}`, {
        hint: 'options go before the job jar; see --help for ours and Flink\'s run options',
      });
    }
    const tokensOfOption = [token];
    let value = inline;
    if (spec.takesValue && value === undefined && !(ownSpec && name.startsWith('no-'))) {
      if (i + 1 >= before.length) throw new UsageError(`${token} needs a value`);
      value = before[++i]!;
      tokensOfOption.push(value);
    }
    if (ownSpec !== undefined) result.own.push(...tokensOfOption);
    else result.flinkOptions.push({ spec: flinkSpec!, value, tokens: tokensOfOption });
  }
  return { ...result, jobUri };
}

/** The value of a Flink option given by its long name, the last one winning, as in Flink. */
export function flinkOptionValue(options: readonly FlinkRunOption[], long: string): string | undefined {
  return options.filter((option) => option.spec.long === long).at(-1)?.value;
}

/** Whether a flag-like Flink option (`-n`, `-d`) was given. */
export function hasFlinkOption(options: readonly FlinkRunOption[], long: string): boolean {
  return options.some((option) => option.spec.long === long);
}
