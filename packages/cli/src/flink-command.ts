import { UsageError, isSensitiveKey } from '@flink-artifacts/core';
import type { FlinkRunOption } from './flink-run-argv.ts';
import { shellQuote } from './shell.ts';

/** The target every command here submits to. */
export const APPLICATION_TARGET = 'kubernetes-application';

/** What goes on a `bin/flink` command line that submits an application cluster. */
export interface FlinkCommand {
  /** `run` (1.20 and later) or `run-application` (before). */
  readonly action: 'run' | 'run-application';
  /** `-Dkey=value` words. */
  readonly dynamicProperties: readonly string[];
  /** The user's other Flink run options, as given. */
  readonly flinkOptions: readonly FlinkRunOption[];
  readonly jobUri: string | null;
  readonly programArgs: readonly string[];
}

/**
 * The user's `-t/--target` (or the deprecated `-e/--executor`) must name the application target
 * if given at all: we add it ourselves.
 *
 * @returns the options without them.
 * @throws UsageError for another target.
 */
export function withoutTarget(options: readonly FlinkRunOption[]): FlinkRunOption[] {
  for (const option of options) {
    if ((option.spec.long === 'target' || option.spec.long === 'executor') && option.value !== APPLICATION_TARGET) {
      throw new UsageError(`${option.tokens.join(' ')}: this command submits to ${APPLICATION_TARGET} only`);
    }
  }
  return options.filter((option) => option.spec.long !== 'target' && option.spec.long !== 'executor');
}

/** The arguments of `bin/flink`: action, target, options, then the jar and the program's arguments. */
export function flinkCommandArgs(command: FlinkCommand): string[] {
  return [
    command.action,
    '--target',
    APPLICATION_TARGET,
    ...command.dynamicProperties,
    ...command.flinkOptions.flatMap((option) => option.tokens),
    ...(command.jobUri === null ? [] : [command.jobUri]),
    ...command.programArgs,
  ];
}

/**
 * A command line to show: shell-quoted, with the value of every `-D` whose key holds a
 * credential masked (decided from the parsed key, so no other text is touched).
 */
export function displayCommand(words: readonly string[]): string {
  return words
    .map((word) => {
      const match = /^-D([^=]+)=/.exec(word);
      return shellQuote(match !== null && isSensitiveKey(match[1]!.trim()) ? `-D${match[1]}=***` : word);
    })
    .join(' ');
}
