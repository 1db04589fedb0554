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

/**
 * A TLS failure that no retry mends, with what to do about it: an https endpoint that speaks
 * plain http ("wrong version number", EPROTO), or a certificate that is not trusted. Undefined
 * for anything else.
 */
export function tlsProblem(error: unknown): { hint: string } | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const text = error instanceof Error ? error.message : '';
  if (code === 'EPROTO' || code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number/i.test(text)) {
    return { hint: 'the server does not speak TLS there: if the endpoint is plain http, write http:// in it' };
  }
  if (typeof code === 'string' && /CERT|SSL|TLS|SELF_SIGNED/.test(code)) {
    return { hint: 'the server certificate is not trusted; add its CA with flink-artifacts.tls.ca-file or NODE_EXTRA_CA_CERTS' };
  }
  return undefined;
}

/** An error's text on one line: OpenSSL's, among others, spans several. */
export function oneLine(text: string): string {
  return text.split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== '').join(' ');
}
