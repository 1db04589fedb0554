import { ConfigError } from './errors.ts';

/**
 * Splits a Flink list or map value the way Flink's StructuredOptionsSplitter does: elements
 * separated by `delimiter`, an element wrapped in single or double quotes may contain the
 * delimiter, and a doubled quote inside quotes is a literal quote. Elements are trimmed.
 *
 * One addition: `\;` counts as a separator. Flink's docs write lists as `a.jar\;b.jar` because
 * the shell eats the backslash; the same text copied into a config file or single quotes reaches
 * us with the backslash still in it, and it means the same thing.
 *
 * @throws ConfigError naming `key` when a quote is not closed or text follows a closing quote.
 */
export function splitFlinkList(value: string, delimiter: string, key: string): string[] {
  const elements: string[] = [];
  let i = 0;
  const n = value.length;
  for (;;) {
    while (i < n && value[i] === ' ') i++;
    let element = '';
    const quote = value[i];
    if (quote === "'" || quote === '"') {
      i++;
      let closed = false;
      while (i < n) {
        const c = value[i];
        if (c === quote) {
          if (value[i + 1] === quote) {
            element += quote;
            i += 2;
            continue;
          }
          i++;
          closed = true;
          break;
        }
        element += c;
        i++;
      }
      if (!closed) throw new ConfigError(`unterminated quote in the value of ${key}`, { key });
      while (i < n && value[i] === ' ') i++;
      if (i < n && !atDelimiter(value, i, delimiter)) {
        throw new ConfigError(`unexpected text after a quoted element in the value of ${key}`, { key });
      }
    } else {
      while (i < n && !atDelimiter(value, i, delimiter)) {
        element += value[i];
        i++;
      }
      element = element.trim();
    }
    elements.push(element);
    if (i >= n) break;
    i += value[i] === '\\' ? 2 : 1;
  }
  return elements;
}

function atDelimiter(value: string, i: number, delimiter: string): boolean {
  if (value[i] === delimiter) return true;
  return delimiter === ';' && value[i] === '\\' && value[i + 1] === ';';
}

/**
 * A Flink list option (`a;b;c`) as a list of non-empty entries. An empty or blank value is an
 * empty list; an empty entry in the middle (`a;;b`, a trailing `;`) is an error rather than
 * silently dropped, because it usually means a variable expanded to nothing.
 *
 * @throws ConfigError naming `key`.
 */
export function parseFlinkList(value: string | undefined, key: string): string[] {
  if (value === undefined || value.trim() === '') return [];
  const entries = splitFlinkList(value, ';', key);
  entries.forEach((entry, index) => {
    if (entry === '') {
      throw new ConfigError(`entry ${index + 1} of ${key} is empty`, {
        key,
        hint: 'remove the stray ";" or fill in the missing URI',
      });
    }
  });
  return entries;
}

/** Larger header sections are refused by common servers (nginx and Node default to 8-16 KiB). */
const MAX_HEADERS_BYTES = 16 * 1024;

/** RFC 9110 token characters: what an HTTP header name may contain. */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Parses `user.artifacts.http-headers` (`Name1:Value1,Name2:Value2`). The first colon separates
 * name from value, so values may contain colons. Error messages never include a value: headers
 * carry tokens.
 *
 * @throws ConfigError naming the key and the entry's position.
 */
export function parseHttpHeaders(value: string | undefined, key: string): Record<string, string> {
  const headers: Record<string, string> = {};
  if (value === undefined || value.trim() === '') return headers;
  const entries = splitFlinkList(value, ',', key);
  entries.forEach((entry, index) => {
    const position = `entry ${index + 1} of ${key}`;
    const colon = entry.indexOf(':');
    if (colon === -1) {
      throw new ConfigError(`${position} has no ":" between header name and value`, {
        key,
        hint: 'the format is Name1:Value1,Name2:Value2',
      });
    }
    const name = entry.slice(0, colon).trim();
    const headerValue = entry.slice(colon + 1).trim();
    if (!HEADER_NAME.test(name)) {
      throw new ConfigError(`${position} has an invalid header name`, { key, hint: 'header names are letters, digits and !#$%&\'*+-.^_`|~' });
    }
    if (/[\r\n\u0000]/.test(headerValue)) {
      throw new ConfigError(`${position} has a line break or NUL in its value`, { key });
    }
    headers[name] = headerValue;
  });
  const size = Object.entries(headers).reduce((sum, [name, v]) => sum + Buffer.byteLength(name) + Buffer.byteLength(v) + 4, 0);
  if (size > MAX_HEADERS_BYTES) {
    throw new ConfigError(`${key} adds ${size} bytes of headers; servers refuse more than ${MAX_HEADERS_BYTES}`, { key });
  }
  return headers;
}

/**
 * A Flink boolean option. Flink accepts `true`/`false` in any case.
 *
 * @throws ConfigError naming `key` for anything else.
 */
export function parseFlinkBoolean(value: string | undefined, key: string, fallback: boolean): boolean {
  if (value === undefined || value.trim() === '') return fallback;
  const normalized = value.trim().toLowerCase();
  if (normalized === 'true') return true;
  if (normalized === 'false') return false;
  throw new ConfigError(`${key} must be true or false, got ${JSON.stringify(value)}`, { key });
}

/** Renders a list for a Flink option, quoting entries that contain the separator or quotes. */
export function formatFlinkList(entries: readonly string[]): string {
  return entries
    .map((entry) => (/[;'"]/.test(entry) || entry.trim() !== entry ? `'${entry.replaceAll("'", "''")}'` : entry))
    .join(';');
}
