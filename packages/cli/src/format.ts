/** 1536 -> "1.5 KiB". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** 1234 -> "1.2 s". */
export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** The failures of a report, as both commands' JSON lists them: the URI, a stable code, the message. */
export function failuresOf(items: readonly { readonly uri: string; readonly status: string; readonly error?: { readonly code: string; readonly message: string } | undefined }[]): { uri: string; code: string; message: string }[] {
  return items.flatMap((item) => (item.status === 'failed' && item.error !== undefined ? [{ uri: item.uri, code: item.error.code, message: item.error.message }] : []));
}
