// A loopback HTTP proxy in front of a registry that records each request's shape (method, path,
// upload headers, body size), to see how real clients talk to a registry.
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  /** Path and query, as sent. */
  url: string;
  status: number;
  accept?: string;
  range?: string;
  contentType?: string;
  contentLength?: string;
  contentRange?: string;
  transferEncoding?: string;
  /** Bytes of request body actually received. */
  bodyBytes: number;
}

export interface RecordingProxy {
  hostPort: string;
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/** Proxies 127.0.0.1:<free port> to `target` (http://host:port), rewriting Location headers back to itself. */
export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const upstream = new URL(target);
  const requests: RecordedRequest[] = [];
  let self = '';
  const server = createServer((req, res) => {
    const record: RecordedRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      status: 0,
      accept: req.headers.accept,
      range: req.headers.range,
      contentType: req.headers['content-type'],
      contentLength: req.headers['content-length'],
      contentRange: req.headers['content-range'],
      transferEncoding: req.headers['transfer-encoding'],
      bodyBytes: 0,
    };
    requests.push(record);
    const out = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (upstreamRes) => {
        record.status = upstreamRes.statusCode ?? 0;
        const headers = { ...upstreamRes.headers };
        if (typeof headers.location === 'string') headers.location = headers.location.replace(upstream.origin, self);
        res.writeHead(upstreamRes.statusCode ?? 502, headers);
        upstreamRes.pipe(res);
      },
    );
    out.on('error', (err) => {
      record.status = 502;
      res.destroy(err);
    });
    req.on('data', (chunk: Buffer) => (record.bodyBytes += chunk.length));
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  self = `http://127.0.0.1:${port}`;
  return {
    hostPort: `127.0.0.1:${port}`,
    url: self,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** One line per request ("PATCH /v2/…/blobs/uploads/… -> 202 body=1048576 content-range=0-1048575"), for messages and reports. */
export function describeRequests(requests: readonly RecordedRequest[]): string {
  return requests
    .map((r) => {
      const details = [
        `body=${r.bodyBytes}`,
        r.contentLength !== undefined ? `content-length=${r.contentLength}` : undefined,
        r.transferEncoding ? `transfer-encoding=${r.transferEncoding}` : undefined,
        r.contentRange ? `content-range=${r.contentRange}` : undefined,
        r.contentType ? `content-type=${r.contentType}` : undefined,
        r.range ? `range=${r.range}` : undefined,
      ].filter(Boolean);
      return `${r.method} ${r.url} -> ${r.status} ${details.join(' ')}`;
    })
    .join('\n');
}
