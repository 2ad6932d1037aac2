// HTTP/1.1 over a bare TCP socket, for requests fetch() would normalise or refuse to send: raw
// request targets, lying Content-Length, NUL bytes, bodies sent slowly or cut short. Every
// exchange has a deadline, so a server that neither answers nor closes fails the test.
import { connect, type Socket } from 'node:net';

export interface RawResponse {
  status: number;
  /** Header names lowercased; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Buffer;
}

export interface RawExchange {
  /** Every complete response read, in order (a pipelined garbage tail may earn a second one). */
  responses: RawResponse[];
  /** How the exchange ended: the server closed, or we stopped after the responses we wanted. */
  ended: 'closed' | 'enough';
  ms: number;
}

export interface RawOptions {
  /** Fail when the server has neither answered nor closed by then. */
  deadlineMs: number;
  /** Stop after this many complete responses (default 1); Infinity waits for the server to close. */
  responses?: number;
  /** The request was HEAD: responses carry no body whatever their headers say. */
  head?: boolean;
  /** Half-close our side once the writer is done (the server sees EOF, may still answer). */
  endAfterWrite?: boolean;
}

export type Writer = (socket: Socket) => Promise<void>;

/** Sends `request` (bytes, or a writer that paces them) and reads responses until `options` say stop. */
export function rawExchange(port: number, request: Uint8Array | string | Writer, options: RawOptions): Promise<RawExchange> {
  const want = options.responses ?? 1;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    let buffer = Buffer.alloc(0);
    const responses: RawResponse[] = [];
    let settled = false;
    const finish = (ended: RawExchange['ended'] | Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (ended instanceof Error) reject(ended);
      else resolve({ responses, ended, ms: Math.round(performance.now() - started) });
    };
    const timer = setTimeout(
      () => finish(new Error(`no ${responses.length === 0 ? 'answer' : 'further answer'} and no close within ${options.deadlineMs} ms (${buffer.length} unparsed bytes)`)),
      options.deadlineMs,
    );
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const parsed = parseResponse(buffer, options.head === true, false);
        if (!parsed) break;
        responses.push(parsed.response);
        buffer = buffer.subarray(parsed.consumed);
        if (responses.length >= want) return finish('enough');
      }
    });
    const closed = () => {
      if (settled) return;
      // A response delimited by the close itself (no Content-Length, not chunked).
      const parsed = buffer.length > 0 ? parseResponse(buffer, options.head === true, true) : undefined;
      if (parsed) responses.push(parsed.response);
      finish('closed');
    };
    socket.on('end', closed);
    // A reset after (or instead of) an answer is the server closing: judge what was read.
    socket.on('error', closed);
    socket.on('close', closed);
    socket.once('connect', () => {
      void (async () => {
        try {
          if (typeof request === 'function') await request(socket);
          else await write(socket, request);
          if (options.endAfterWrite) socket.end();
        } catch {
          // The server may close while we still write (it refused early): read what it said.
        }
      })();
    });
  });
}

export function write(socket: Socket, data: Uint8Array | string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (socket.destroyed) return reject(new Error('socket closed'));
    socket.write(data, (error) => (error ? reject(error) : resolve()));
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A request head: request line, headers (Host and Connection: close unless given), blank line. */
export function head(method: string, target: string, headers: Record<string, string | number> = {}, port?: number): string {
  const all: Record<string, string | number> = { Host: port ? `127.0.0.1:${port}` : '127.0.0.1', Connection: 'close', ...headers };
  const lines = Object.entries(all).map(([k, v]) => `${k}: ${v}`);
  return `${method} ${target} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`;
}

function parseResponse(buf: Buffer, isHead: boolean, atClose: boolean): { response: RawResponse; consumed: number } | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
  if (!m) throw new Error(`not an HTTP response: ${JSON.stringify(lines[0])}`);
  const status = Number(m[1]);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  const start = end + 4;
  const bodyless = isHead || status === 204 || status === 304 || (status >= 100 && status < 200);
  if (bodyless) return { response: { status, headers, body: Buffer.alloc(0) }, consumed: start };
  if (headers['content-length'] !== undefined) {
    const length = Number(headers['content-length']);
    if (buf.length < start + length) return undefined;
    return { response: { status, headers, body: buf.subarray(start, start + length) }, consumed: start + length };
  }
  if ((headers['transfer-encoding'] ?? '').toLowerCase().includes('chunked')) {
    const parts: Buffer[] = [];
    let at = start;
    for (;;) {
      const lineEnd = buf.indexOf('\r\n', at);
      if (lineEnd < 0) return undefined;
      const size = parseInt(buf.subarray(at, lineEnd).toString('latin1'), 16);
      if (size === 0) {
        const trailerEnd = buf.indexOf('\r\n', lineEnd + 2);
        if (trailerEnd < 0) return undefined;
        return { response: { status, headers, body: Buffer.concat(parts) }, consumed: trailerEnd + 2 };
      }
      if (buf.length < lineEnd + 2 + size + 2) return undefined;
      parts.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size));
      at = lineEnd + 2 + size + 2;
    }
  }
  // Delimited by the server closing the connection.
  if (!atClose) return undefined;
  return { response: { status, headers, body: buf.subarray(start) }, consumed: buf.length };
}
