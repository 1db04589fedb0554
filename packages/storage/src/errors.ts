/**
 * A one-line description of a transport or SDK error: its message, or its code when the message
 * is empty (Node's AggregateError for a refused connection has none).
 */
export function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  if (error.message !== '') return code !== undefined && !error.message.includes(code) ? `${error.message} (${code})` : error.message;
  if (error instanceof AggregateError && error.errors.length > 0) return errorText(error.errors[0]);
  return code ?? error.name;
}

/** The HTTP status carried by an error from got, gaxios or the AWS SDK, if any. */
export function httpStatusOf(error: unknown): number | undefined {
  const e = error as { code?: unknown; status?: unknown; response?: { status?: unknown; statusCode?: unknown } } | undefined;
  for (const value of [e?.code, e?.status, e?.response?.status, e?.response?.statusCode]) {
    if (typeof value === 'number') return value;
  }
  return undefined;
}
