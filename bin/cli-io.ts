/** Terminal helpers of the `cirrus` CLI: aligned tables, secrets read from stdin, durations and times. */

/** The command line was wrong (exit code 2, not 1). */
export class CliUsageError extends Error {}

export function formatTable(header: string[], rows: string[][]): string {
  if (rows.length === 0) return '(none)';
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** The whole of stdin, without its final newline (as `docker login --password-stdin`). */
export async function readSecretFromStdin(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('password (then Enter and Ctrl-D): ');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** `90d`, `12h`, `30m`; at most ten years. */
export function parseDuration(text: string): number {
  const m = /^(\d{1,6})([dhm])$/.exec(text);
  if (!m) throw new CliUsageError(`--expires-in: expected e.g. 90d, 12h or 30m, got ${text}`);
  const ms = Number(m[1]) * { d: 86_400_000, h: 3_600_000, m: 60_000 }[m[2] as 'd' | 'h' | 'm'];
  if (ms <= 0 || ms > 3650 * 86_400_000) throw new CliUsageError('--expires-in: between 1m and 3650d');
  return ms;
}

export function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function shortDigest(digest: string): string {
  const colon = digest.indexOf(':');
  return colon < 0 ? digest.slice(0, 19) : `${digest.slice(0, colon + 13)}…`;
}

/** `'v*, release-*'` → `['v*', 'release-*']`. */
export function splitList(text: string): string[] {
  return text.split(',').map((s) => s.trim()).filter(Boolean);
}

export function wholeNumber(text: string, name: string): number {
  if (!/^\d{1,9}$/.test(text)) throw new CliUsageError(`${name}: expected a whole number, got ${text}`);
  return Number(text);
}
