/**
 * Requests Node's HTTP parser refuses before the app sees them (an unknown method, a malformed
 * request line or header, bytes after a body on a keep-alive connection, a head too large or too
 * slow) and an `Expect` it cannot meet get an OCI error body like every other answer, where the
 * socket can still take one; then the connection closes. Node's own answer is a bare status line.
 */
import type { Server, ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { codes, toErrorResponse, writeNodeError, type ErrorCode, type ErrorResponse } from '../errors/index.ts';
import type { Logger } from './logger.ts';

/** Node's parser error codes → the answer; anything else is a malformed request. */
const REFUSALS: Record<string, { code: ErrorCode; status: number; message: string }> = {
  HPE_INVALID_METHOD: { code: codes.UNSUPPORTED, status: 405, message: 'unsupported or malformed HTTP method' },
  HPE_HEADER_OVERFLOW: { code: codes.UNSUPPORTED, status: 431, message: 'request head too large' },
  HPE_CHUNK_EXTENSIONS_OVERFLOW: { code: codes.SIZE_INVALID, status: 413, message: 'chunk extensions too large' },
  ERR_HTTP_REQUEST_TIMEOUT: { code: codes.UNSUPPORTED, status: 408, message: 'request head not received in time' },
};
const MALFORMED = { code: codes.UNSUPPORTED, status: 400, message: 'malformed HTTP request' };

export function answerClientErrors(server: Server, log: Logger): void {
  // The request a socket is serving when its next bytes fail to parse. Node keeps it privately.
  const inFlight = new WeakMap<Socket, ServerResponse>();
  server.on('request', (req, res: ServerResponse) => {
    const socket = req.socket;
    inFlight.set(socket, res);
    res.once('close', () => inFlight.get(socket) === res && inFlight.delete(socket));
  });

  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    const refusal = REFUSALS[error.code ?? ''] ?? MALFORMED;
    const answer = () => {
      if (!socket.writable) return void socket.destroy();
      socket.end(rawResponse(toErrorResponse(refusal.code, { status: refusal.status, message: refusal.message, detail: { reason: error.code } })));
    };
    const serving = inFlight.get(socket);
    if (!serving) answer();
    else if (serving.req.complete) {
      // Bytes after a whole request (pipelined garbage on a keep-alive connection): that request
      // is answered first, then the refusal — a second head must never land inside the first body.
      if (serving.writableFinished) answer();
      else {
        serving.once('finish', answer);
        serving.once('close', () => !serving.writableFinished && socket.destroy());
      }
    } else if (!serving.headersSent) {
      // Its own body failed to parse: the request can never complete, so the refusal is its answer.
      answer();
    } else {
      socket.destroy();
    }
    log.info('client-error', { reason: error.code ?? error.message, status: refusal.status });
  });

  // Without a listener Node answers an unmet `Expect` with a bare 417.
  server.on('checkExpectation', (_req, res: ServerResponse) => {
    const answer = toErrorResponse(codes.UNSUPPORTED, { status: 417, message: 'only Expect: 100-continue is supported' });
    writeNodeError(res, answer, { Connection: 'close' });
  });
}

/** A request that reached the adapter but cannot become a fetch Request (no Host, a malformed one). */
export function malformedRequest(error: unknown): ErrorResponse {
  return toErrorResponse(MALFORMED.code, { status: MALFORMED.status, message: `${MALFORMED.message}: ${error instanceof Error ? error.message : String(error)}` }, { Connection: 'close' });
}

/** The response as bytes on the socket: the HTTP layer's writer is not there for a request it never parsed. */
function rawResponse(answer: ErrorResponse): string {
  const headers = { ...answer.headers, 'Content-Length': String(Buffer.byteLength(answer.body)), Connection: 'close' };
  const head = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  return `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status] ?? ''}\r\n${head}\r\n${answer.body}`;
}
