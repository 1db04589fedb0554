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

/** The `-D` values yargs collected: absent, one string, or several. */
export function dynamicProperties(value: unknown): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}
