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
 * One of Flink's run options as commons-cli (and so `bin/flink`) reads it: `-p 3`, `--parallelism 3`,
 * `--parallelism=3`, and for a one-letter option with a value also `-p=3` and `-p3`.
 */
function flinkOption(dashes: number, name: string, inline: string | undefined): { spec: FlinkRunOptionSpec; inline: string | undefined } | undefined {
  const exact = FLINK_RUN_OPTIONS.find((spec) => (dashes === 1 ? spec.short === name : spec.long === name));
  if (exact !== undefined || dashes === 2) return exact === undefined ? undefined : { spec: exact, inline };
  const glued = FLINK_RUN_OPTIONS.find((spec) => spec.short.length === 1 && spec.takesValue && name.startsWith(spec.short));
  if (glued === undefined || name.length < 2) return undefined;
  const rest = name.slice(1);
  return { spec: glued, inline: rest.startsWith('=') ? rest.slice(1) : rest };
}

/**
 * Splits a `render` / `run-application` command line as `bin/flink run` reads its own: options
 * first, then the job jar, then the program's arguments, which are the program's even when they
 * look like options. One addition: a `--` after the jar ends our options when only `-D` and our
 * own options stand between the two (`JOB_URI -Dk=v -- --input x`); anything else there and the
 * whole rest, `--` included, is the program's, as `bin/flink` would pass it. Options before the
 * jar that we do not know are an error, not silently the program's.
 *
 * @throws UsageError naming the token.
 */
export function splitFlinkRunArgv(tokens: readonly string[], own: readonly OwnOptionSpec[]): FlinkRunCommandLine {
  const ownByName = new Map(own.flatMap((spec) => spec.names.map((name) => [name, spec] as const)));
  const ownOptions: string[] = [];
  const flinkOptions: FlinkRunOption[] = [];

  // Reads the option at tokens[i] into ownOptions / flinkOptions; returns the next index, or
  // undefined when tokens[i] is not an option we may read here. After the jar, only ours and -D.
  const readOption = (i: number, end: number, beforeJar: boolean): number | undefined => {
    const token = tokens[i]!;
    // -Dkey=value, glued as Flink writes it.
    if (token.startsWith('-D') && !token.startsWith('--') && token.length > 2) {
      ownOptions.push('-D', token.slice(2));
      return i + 1;
    }
    const { dashes, name, inline } = optionName(token);
    const ownSpec = ownByName.get(name.replace(/^no-/, ''));
    const flink = ownSpec === undefined && beforeJar ? flinkOption(dashes, name, inline) : undefined;
    const spec = ownSpec ?? flink?.spec;
    if (spec === undefined) return undefined;
    const tokensOfOption = [token];
    let value = ownSpec === undefined ? flink?.inline : inline;
    let next = i + 1;
    if (spec.takesValue && value === undefined && !(ownSpec && name.startsWith('no-'))) {
      if (next >= end) {
        if (beforeJar) throw new UsageError(`${token} needs a value`);
        return undefined;
      }
      value = tokens[next++]!;
      tokensOfOption.push(value);
    }
    if (ownSpec !== undefined) ownOptions.push(...tokensOfOption);
    else flinkOptions.push({ spec: flink!.spec, value, tokens: tokensOfOption });
    return next;
  };

  const dash = tokens.indexOf('--');
  const optionsEnd = dash === -1 ? tokens.length : dash;
  let i = 0;
  let jobUri: string | undefined;
  while (i < optionsEnd) {
    const token = tokens[i]!;
    if (!token.startsWith('-') || token === '-') {
      jobUri = token;
      i++;
      break;
    }
    const next = readOption(i, optionsEnd, true);
    if (next === undefined) {
      throw new UsageError(`unknown option ${token}`, {
        hint: 'options go before the job jar; see --help for ours and Flink\'s run options',
      });
    }
    i = next;
  }
  const line = (programArgs: string[], separated: boolean): FlinkRunCommandLine => ({ own: ownOptions, flinkOptions, jobUri, programArgs, separated });
  if (dash === -1) return line(tokens.slice(i), false);
  if (jobUri === undefined) return line(tokens.slice(dash + 1), true);

  // Between the jar and the "--": only -D and our own options, or it is all the program's.
  const afterJar = i;
  const ownBefore = ownOptions.length;
  while (i < dash) {
    const token = tokens[i]!;
    const next = token.startsWith('-') && token !== '-' ? readOption(i, dash, false) : undefined;
    if (next === undefined) {
      ownOptions.length = ownBefore;
      return line(tokens.slice(afterJar), false);
    }
    i = next;
  }
  return line(tokens.slice(dash + 1), true);
}

/** The value of a Flink option given by its long name, the last one winning, as in Flink. */
export function flinkOptionValue(options: readonly FlinkRunOption[], long: string): string | undefined {
  return options.filter((option) => option.spec.long === long).at(-1)?.value;
}

/** Whether a flag-like Flink option (`-n`, `-d`) was given. */
export function hasFlinkOption(options: readonly FlinkRunOption[], long: string): boolean {
  return options.some((option) => option.spec.long === long);
}
