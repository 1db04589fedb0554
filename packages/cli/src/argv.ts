import { isSensitiveKey } from '@flink-artifacts/core';

/**
 * Flink writes dynamic properties glued to the flag (`-Dkey=value`); yargs would read that as a
 * bundle of single-letter flags. Split them into `-D key=value` before parsing.
 */
export function normalizeArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (const arg of argv) {
    if (arg === '--') {
      out.push(...argv.slice(argv.indexOf(arg)));
      break;
    }
    if (arg.length > 2 && arg.startsWith('-D')) out.push('-D', arg.slice(2));
    else out.push(arg);
  }
  return out;
}

/**
 * Words of the command line that are secret values even though no option holds them: the word
 * after `-D<secret key>=` with nothing after the `=` (`-Ds3.secret-key= V`, as a shell splits a
 * stray space), which is otherwise an unknown argument or the job jar, echoed in the error.
 */
export function strayArgvSecrets(argv: readonly string[]): string[] {
  const secrets: string[] = [];
  for (let i = 0; i + 1 < argv.length; i++) {
    const arg = argv[i] === '-D' ? argv[++i]! : argv[i]!.startsWith('-D') ? argv[i]!.slice(2) : undefined;
    const key = arg?.endsWith('=') ? arg.slice(0, -1).trim() : undefined;
    if (key !== undefined && isSensitiveKey(key) && i + 1 < argv.length) secrets.push(argv[i + 1]!);
  }
  return secrets;
}

/** The `-D` values yargs collected: absent, one string, or several. */
export function dynamicProperties(value: unknown): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}
