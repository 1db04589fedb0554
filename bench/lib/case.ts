import type { CommandSpec, Measurement } from './measure.ts';

/** One contender of a case: how to run it in round `round` (rounds alternate contenders). */
export interface Contender {
  name: string;
  /** Ours, or a tool users would pick instead. */
  ours: boolean;
  command(round: number): CommandSpec | Promise<CommandSpec>;
  /** Runs before each measured run, not timed (e.g. empty the target directory). */
  prepare?(round: number): Promise<void>;
}

/** A benchmark case: data made once, contenders measured A B A B ... */
export interface BenchCase {
  id: string;
  title: string;
  rounds: number;
  contenders: Contender[];
  /** Checks after each run that it did the work (bytes in place), so a fast failure cannot win. */
  verify?(contender: string, round: number): Promise<void>;
}

export interface CaseResult {
  id: string;
  title: string;
  rows: { name: string; ours: boolean; runs: Measurement[] }[];
}
