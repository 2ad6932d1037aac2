// The Node hosts' answer to requests the HTTP parser refuses (the local host's is also covered by
// test/hostile against the real process; the upload service wires the same handler).
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { silentLogger } from '../../core/http/logger.ts';
import { answerClientErrors } from '../../core/http/node-client-errors.ts';

let server: Server;
let port: number;
beforeAll(async () => {
  server = createServer((_req, res) => void res.writeHead(200, { 'Content-Length': '2' }).end('ok'));
  answerClientErrors(server, silentLogger);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** Writes raw bytes and reads until the server closes. */
function exchange(bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.setEncoding('latin1').on('data', (chunk: string) => (text += chunk)).on('close', () => resolve(text)).on('error', reject);
    socket.write(bytes);
    setTimeout(() => socket.destroy(), 5_000).unref();
  });
}

const bodyOf = (response: string) => JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4)) as { errors: Array<{ code: string; detail: { reason: string } }> };

it('an unknown method: 405 with the OCI body, then the connection closes', async () => {
  const response = await exchange('BREW /v2/ HTTP/1.1\r\nHost: x\r\n\r\n');
  expect(response).toMatch(/^HTTP\/1\.1 405 Method Not Allowed\r\n/);
  expect(response).toMatch(/\r\nContent-Type: application\/json\r\n/);
  expect(response).toMatch(/\r\nConnection: close\r\n/);
  expect(bodyOf(response).errors[0]).toMatchObject({ code: 'UNSUPPORTED', detail: { reason: 'HPE_INVALID_METHOD' } });
});

it('a malformed header line: 400 UNSUPPORTED as JSON', async () => {
  const response = await exchange('GET /v2/ HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n');
  expect(response).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
  expect(bodyOf(response).errors[0]!.code).toBe('UNSUPPORTED');
});

it('garbage after a whole request on a keep-alive connection: the request is answered first, whole', async () => {
  const response = await exchange('GET /a HTTP/1.1\r\nHost: x\r\n\r\n\x01\x02garbage\r\n\r\n');
  expect(response.startsWith('HTTP/1.1 200 OK\r\n')).toBe(true);
  const second = response.indexOf('HTTP/1.1 ', 10);
  expect(response.slice(0, second)).toMatch(/\r\n\r\nok$/);
  expect(response.slice(second)).toMatch(/^HTTP\/1\.1 (400|405) /);
  expect(bodyOf(response.slice(second)).errors[0]!.code).toBe('UNSUPPORTED');
});

it('Expect: something other than 100-continue: 417 with the OCI body', async () => {
  const response = await exchange('GET /v2/ HTTP/1.1\r\nHost: x\r\nExpect: bogus\r\nConnection: close\r\n\r\n');
  expect(response).toMatch(/^HTTP\/1\.1 417 /);
  expect(bodyOf(response).errors[0]!.code).toBe('UNSUPPORTED');
});
