/**
 * JSON log lines, one per event: what the local host prints and CloudWatch ingests. Every log
 * line of every host, function and tool has this one shape, `{time, level, event, ...fields}`:
 * write them through `jsonLogger` (CloudWatch metrics in EMF are the one other format).
 */
export interface Logger {
  info(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
  /** Something an operator must act on (auth off, no admin password); optional for older loggers. */
  warn?(event: string, fields?: Record<string, unknown>): void;
}

export function jsonLogger(write: (line: string) => void = batchedStdout()): Required<Logger> {
  const emit = (level: string, event: string, fields?: Record<string, unknown>) =>
    write(`${JSON.stringify({ time: new Date().toISOString(), level, event, ...fields })}\n`);
  return {
    info: (event, fields) => emit('info', event, fields),
    error: (event, fields) => emit('error', event, fields),
    warn: (event, fields) => emit('warn', event, fields),
  };
}

export const silentLogger: Required<Logger> = { info: () => {}, error: () => {}, warn: () => {} };

/**
 * Writes to stdout once per turn of the event loop rather than once per line: stdout on a pipe
 * is synchronous, and a write call per request was a sixth of the CPU of a HEAD. Lines are
 * flushed before the process exits.
 */
export function batchedStdout(maxBytes = 64 * 1024): (line: string) => void {
  let lines: string[] = [];
  let bytes = 0;
  const flush = () => {
    if (lines.length === 0) return;
    const text = lines.join('');
    lines = [];
    bytes = 0;
    process.stdout.write(text);
  };
  process.on('exit', flush);
  return (line) => {
    if (lines.length === 0) setImmediate(flush);
    lines.push(line);
    bytes += line.length;
    if (bytes >= maxBytes) flush();
  };
}
