// Hostile blob uploads: bad ranges and digests, lying or broken HTTP framing (bare sockets), dead
// or foreign sessions, and mounts that must not turn a digest into a capability.
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { custom, rawBytes, req, type Expect } from './cases.ts';
import { BASE_REPO, hostileCorpus, sha256, type Answer, type Case, type Ctx } from './harness.ts';
import { head, sleep, write } from './raw-http.ts';

const REPO = 'hostile/up';
const UNKNOWN_UUID = '00000000-0000-4000-8000-000000000000';
const RANGE: Expect = [416, 'BLOB_UPLOAD_INVALID'];
const UPLOAD_UNKNOWN: Expect = [404, 'BLOB_UPLOAD_UNKNOWN'];
const DIGEST: Expect = [400, 'DIGEST_INVALID'];
// Refused by Node's parser before the app sees it, answered with the OCI body by the host's clientError handler.
const NODE_400: Expect = [400, 'UNSUPPORTED'];
const OCTETS = { 'Content-Type': 'application/octet-stream' };

/** A fresh session of REPO, optionally with `chunk` already acknowledged; its path and uuid. */
async function session(ctx: Ctx, chunk?: Uint8Array): Promise<{ path: string; uuid: string }> {
  const { location, uuid } = await ctx.client.startUpload(REPO);
  const path = new URL(location).pathname;
  if (chunk) expect((await ctx.client.patchChunk(path, chunk, 0)).status).toBe(202);
  return { path, uuid };
}

/** The offset GET reports for a session path (its Range "0-0" reads as 0), or its status when there is none. */
async function offsetOf(ctx: Ctx, path: string): Promise<number | string> {
  const res = await ctx.fetch('GET', path);
  if (res.status !== 204) return `status ${res.status}`;
  const range = /^0-(\d+)$/.exec(res.headers.range ?? '');
  return range ? (Number(range[1]) === 0 ? 0 : Number(range[1]) + 1) : `range ${res.headers.range}`;
}

const patch = (ctx: Ctx, path: string, body: Uint8Array, range: string, extra: Record<string, string> = {}) =>
  ctx.fetch('PATCH', path, { headers: { ...OCTETS, 'Content-Range': range, ...extra }, body });

/** A PATCH with a Content-Range that must be refused, leaving the session where it was. */
const badRange = (name: string, before: number, range: string, expected: Expect = RANGE): Case => {
  let path = '';
  return custom(`${name} (session at ${before}, Content-Range: ${range})`, expected, async (ctx) => {
    ({ path } = await session(ctx, before > 0 ? randomBytes(before) : undefined));
    return patch(ctx, path, randomBytes(10), range);
  }, { after: async (ctx) => expect(await offsetOf(ctx, path)).toBe(before) });
};

/** A request whose body stops before its Content-Length, then the client half-closes: Node answers. */
const cutShort = (name: string, target: (ctx: Ctx) => Promise<{ method: string; path: string; check?: () => Promise<void> }>): Case => {
  let check: (() => Promise<void>) | undefined;
  return custom(`${name}: Content-Length 1000, 10 bytes sent, then the client half-closes (raw) → Node answers 400`, NODE_400, async (ctx) => {
    const t = await target(ctx);
    check = t.check;
    return ctx.raw(
      async (socket) => {
        await write(socket, head(t.method, t.path, { ...OCTETS, 'Content-Length': 1000 }, ctx.host.port) + '0123456789');
        await sleep(100);
      },
      { endAfterWrite: true },
    );
  }, {
    after: async () => {
      await sleep(300); // the registry's side of the request ends after Node's answer
      await check?.();
    },
  });
};

/** Content-Length 10 with 20 bytes: the registry reads 10 and checks them against the digest of 20. */
const tooLong = (name: string, target: (ctx: Ctx, digest: string) => Promise<{ method: string; path: string }>): Case => {
  const bytes = randomBytes(20);
  return custom(`${name}: Content-Length 10 with 20 bytes sent, the rest 300 ms later (raw) → 400 DIGEST_INVALID`, DIGEST, async (ctx) => {
    const { method, path } = await target(ctx, sha256(bytes));
    return ctx.raw(async (socket) => {
      await write(socket, Buffer.concat([Buffer.from(head(method, path, { ...OCTETS, 'Content-Length': 10 }, ctx.host.port)), bytes.subarray(0, 10)]));
      await sleep(300);
      await write(socket, bytes.subarray(10));
    });
  }, {
    after: async (ctx) => {
      for (const d of [sha256(bytes), sha256(bytes.subarray(0, 10))]) expect((await ctx.fetch('HEAD', `/v2/${REPO}/blobs/${d}`)).status).toBe(404);
    },
  });
};

const framing = (name: string, headers: Record<string, string | number>, body: string): Case =>
  rawBytes(`${name} (raw) → Node refuses the request`, (port) => head('POST', `/v2/${REPO}/blobs/uploads/`, headers, port) + body, NODE_400);

/** A session that was finished (a legitimate push), then used again. */
const finished = (method: string): Case =>
  custom(`a finished session reused: ${method} → 404 BLOB_UPLOAD_UNKNOWN`, UPLOAD_UNKNOWN, async (ctx) => {
    const bytes = randomBytes(32);
    const { path } = await session(ctx, bytes);
    const done = await ctx.client.finishUpload(path, sha256(bytes));
    expect(done.status).toBe(201);
    ctx.legit(REPO, sha256(bytes));
    if (method === 'PATCH') return patch(ctx, path, randomBytes(5), '32-36');
    if (method === 'PUT') return ctx.fetch('PUT', `${path}?digest=${sha256(bytes)}`, { headers: OCTETS, body: '' });
    return ctx.fetch(method, path);
  });

const cancelled = (method: string): Case =>
  custom(`a cancelled session: ${method} → 404 BLOB_UPLOAD_UNKNOWN`, UPLOAD_UNKNOWN, async (ctx) => {
    const { path } = await session(ctx, randomBytes(10));
    expect((await ctx.fetch('DELETE', path)).status).toBe(204);
    if (method === 'PATCH') return patch(ctx, path, randomBytes(5), '10-14');
    if (method === 'PUT') return ctx.fetch('PUT', `${path}?digest=${sha256('x')}`, { headers: OCTETS, body: '' });
    return ctx.fetch(method, path);
  });

/** A mount the registry cannot do: the spec's answer is a fresh session (202), and nothing is linked. */
const mountFallback = (name: string, from: string): Case =>
  custom(`mount ${name}: falls back to a session (202), links nothing`, [202, null], (ctx) =>
    ctx.fetch('POST', `/v2/hostile/mounted/blobs/uploads/?mount=${sha256(ctx.base.layers[0]!)}&from=${from}`), {
    notAnError: 'distribution-spec: a mount the registry cannot do SHOULD start an upload session (202)',
    after: async (ctx, answer: Answer) => {
      expect(answer.headers.location).toMatch(/\/v2\/hostile\/mounted\/blobs\/uploads\/[0-9a-f-]{36}$/);
      expect((await ctx.fetch('HEAD', `/v2/hostile/mounted/blobs/${sha256(ctx.base.layers[0]!)}`)).status).toBe(404);
      expect((await ctx.fetch('DELETE', new URL(answer.headers.location!).pathname)).status).toBe(204);
    },
  });

const mount = (name: string, query: (ctx: Ctx) => string, expected: Expect, target = 'hostile/mounted'): Case =>
  req(`mount ${name}`, 'POST', (ctx) => `/v2/${target}/blobs/uploads/?${query(ctx)}`, expected);

const layer = (ctx: Ctx) => sha256(ctx.base.layers[0]!);

const cases: Case[] = [
  // digests
  custom('digest mismatch on the closing PUT', DIGEST, async (ctx) => {
    const { path } = await session(ctx, randomBytes(10));
    return ctx.fetch('PUT', `${path}?digest=${sha256('other')}`, { headers: OCTETS, body: '' });
  }),
  custom('digest mismatch on a PUT carrying the last chunk', DIGEST, async (ctx) => {
    const { path } = await session(ctx, randomBytes(10));
    return ctx.fetch('PUT', `${path}?digest=${sha256('other')}`, { headers: { ...OCTETS, 'Content-Range': '10-19' }, body: randomBytes(10) });
  }),
  custom('PUT without ?digest=', DIGEST, async (ctx) => ctx.fetch('PUT', (await session(ctx, randomBytes(10))).path, { headers: OCTETS, body: '' })),
  custom('PUT with an empty ?digest=', DIGEST, async (ctx) => ctx.fetch('PUT', `${(await session(ctx)).path}?digest=`, { headers: OCTETS, body: '' })),

  // Content-Range
  badRange('Content-Range not at the offset', 0, '5-14'),
  badRange('Content-Range replaying acknowledged bytes', 10, '0-9'),
  badRange('Content-Range leaving a gap', 10, '20-29'),
  badRange('reversed Content-Range at the offset', 10, '10-5'),
  badRange('malformed Content-Range', 0, 'bytes=abc'),
  badRange('Content-Range without an end', 0, '0-'),
  badRange('negative Content-Range', 0, '-5-4'),
  badRange('Content-Range with 17-digit numbers', 0, '0-99999999999999999'),
  badRange('Content-Range longer than Content-Length', 0, '0-99', [400, 'SIZE_INVALID']),
  (() => {
    let path = '';
    return custom('Content-Range 0-0 with an empty body', [400, 'SIZE_INVALID'], async (ctx) => {
      ({ path } = await session(ctx));
      return patch(ctx, path, new Uint8Array(0), '0-0');
    }, { after: async (ctx) => expect(await offsetOf(ctx, path)).toBe(0) });
  })(),
  (() => {
    let path = '';
    return custom('a chunked body longer than its Content-Range (raw)', [400, 'SIZE_INVALID'], async (ctx) => {
      ({ path } = await session(ctx));
      const body = '14\r\n' + 'x'.repeat(20) + '\r\n0\r\n\r\n';
      return ctx.raw(head('PATCH', path, { ...OCTETS, 'Content-Range': '0-9', 'Transfer-Encoding': 'chunked' }, ctx.host.port) + body);
    }, { after: async (ctx) => expect(await offsetOf(ctx, path)).toBe(0) });
  })(),
  custom('Content-Range not at the offset on the closing PUT', RANGE, async (ctx) => {
    const { path } = await session(ctx, randomBytes(10));
    return ctx.fetch('PUT', `${path}?digest=${sha256('x')}`, { headers: { ...OCTETS, 'Content-Range': '0-9' }, body: randomBytes(10) });
  }),
  custom('two PATCHes racing for the same offset: the loser', RANGE, async (ctx) => {
    const { path } = await session(ctx);
    const answers = await Promise.all([patch(ctx, path, randomBytes(10), '0-9'), patch(ctx, path, randomBytes(10), '0-9')]);
    expect(answers.map((a) => a.status).sort()).toEqual([202, 416]);
    return answers.find((a) => a.status !== 202)!;
  }),

  // framing: Content-Length shorter or longer than the body, broken headers
  tooLong('monolithic POST ?digest=', async (_, digest) => ({ method: 'POST', path: `/v2/${REPO}/blobs/uploads/?digest=${digest}` })),
  tooLong('closing PUT ?digest=', async (ctx, digest) => ({ method: 'PUT', path: `${(await session(ctx)).path}?digest=${digest}` })),
  cutShort('monolithic POST ?digest=', async (ctx) => {
    const digest = sha256(randomBytes(1000));
    return {
      method: 'POST',
      path: `/v2/${REPO}/blobs/uploads/?digest=${digest}`,
      check: async () => expect((await ctx.fetch('HEAD', `/v2/${REPO}/blobs/${sha256('0123456789')}`)).status).toBe(404),
    };
  }),
  ...(['PATCH', 'PUT'] as const).map((method) =>
    cutShort(`${method} on a session holding 10 bytes`, async (ctx) => {
      const { path } = await session(ctx, randomBytes(10));
      return {
        method,
        path: method === 'PUT' ? `${path}?digest=${sha256(randomBytes(1010))}` : path,
        check: async () => expect(await offsetOf(ctx, path)).toBe(10),
      };
    }),
  ),
  custom('Content-Length of 1 TiB, 10 bytes sent, then the client half-closes (raw) → Node answers 400', NODE_400, async (ctx) => {
    const { path } = await session(ctx);
    return ctx.raw(async (socket) => {
      await write(socket, head('PATCH', path, { ...OCTETS, 'Content-Length': 2 ** 40 }, ctx.host.port) + '0123456789');
      await sleep(100);
    }, { endAfterWrite: true });
  }, { after: () => sleep(300) }),
  framing('non-numeric Content-Length', { 'Content-Length': 'abc' }, 'abc'),
  framing('negative Content-Length', { 'Content-Length': -1 }, 'abc'),
  framing('Content-Length and Transfer-Encoding together', { 'Content-Length': 3, 'Transfer-Encoding': 'chunked' }, '0\r\n\r\n'),
  rawBytes('two different Content-Lengths (raw) → Node refuses the request', (port) =>
    `POST /v2/${REPO}/blobs/uploads/ HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Length: 3\r\nContent-Length: 4\r\nConnection: close\r\n\r\nabcd`, NODE_400),
  custom('chunked body with a non-hex chunk size (raw) → Node refuses it', NODE_400, async (ctx) => {
    const { path } = await session(ctx);
    return ctx.raw(head('PATCH', path, { ...OCTETS, 'Transfer-Encoding': 'chunked' }, ctx.host.port) + 'zz\r\nhello\r\n0\r\n\r\n');
  }, { after: () => sleep(300) }),

  // sessions that are unknown, foreign, finished or cancelled
  req('unknown uuid: GET', 'GET', `/v2/${REPO}/blobs/uploads/${UNKNOWN_UUID}`, UPLOAD_UNKNOWN),
  req('unknown uuid: PATCH', 'PATCH', `/v2/${REPO}/blobs/uploads/${UNKNOWN_UUID}`, UPLOAD_UNKNOWN, { headers: OCTETS, body: 'abc' }),
  req('unknown uuid: PUT ?digest=', 'PUT', `/v2/${REPO}/blobs/uploads/${UNKNOWN_UUID}?digest=${sha256('abc')}`, UPLOAD_UNKNOWN, { headers: OCTETS, body: 'abc' }),
  req('unknown uuid: DELETE', 'DELETE', `/v2/${REPO}/blobs/uploads/${UNKNOWN_UUID}`, UPLOAD_UNKNOWN),
  req('malformed uuid: PATCH', 'PATCH', `/v2/${REPO}/blobs/uploads/not-a-uuid`, UPLOAD_UNKNOWN, { headers: OCTETS, body: 'abc' }),
  req('uuid with encoded traversal: GET …/uploads/..%2F..%2Findex.db', 'GET', `/v2/${REPO}/blobs/uploads/..%2F..%2Findex.db`, UPLOAD_UNKNOWN),
  (() => {
    let path = '';
    return custom('a session used through another repository: PATCH', UPLOAD_UNKNOWN, async (ctx) => {
      ({ path } = await session(ctx));
      return patch(ctx, path.replace(`/v2/${REPO}/`, '/v2/hostile/other/'), randomBytes(10), '0-9');
    }, { after: async (ctx) => expect(await offsetOf(ctx, path)).toBe(0) });
  })(),
  finished('PATCH'),
  finished('PUT'),
  finished('GET'),
  cancelled('PATCH'),
  cancelled('PUT'),
  cancelled('DELETE'),

  // mounts
  mountFallback('from a repository that does not exist', 'hostile/nowhere'),
  mountFallback('from a repository that does not link the blob', REPO),
  mount('from an invalid name (uppercase)', (c) => `mount=${layer(c)}&from=Hostile/Base`, [400, 'NAME_INVALID']),
  mount('from _catalog', (c) => `mount=${layer(c)}&from=_catalog`, [400, 'NAME_INVALID']),
  mount('with a malformed digest', () => `mount=sha256:xyz&from=${BASE_REPO}`, DIGEST),
  mount('with the uppercase digest of a linked blob', (c) => `mount=${layer(c).toUpperCase().replace('SHA256', 'sha256')}&from=${BASE_REPO}`, DIGEST),
  mount('with an empty digest', () => `mount=&from=${BASE_REPO}`, DIGEST),
  mount('into an invalid name', (c) => `mount=${layer(c)}&from=${BASE_REPO}`, [400, 'NAME_INVALID'], 'Hostile/Mounted'),
  mount('with a malformed digest and a ?digest=', () => `mount=md5:abc&from=${BASE_REPO}&digest=${sha256('')}`, DIGEST),
];

hostileCorpus('hostile uploads', cases);
