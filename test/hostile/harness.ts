// The hostile-input corpus runner: one real local host per file, a table of cases (one `it` each),
// then checks that nothing the corpus sent changed what a legitimate client sees or what the index
// holds. A case names the status and spec code it expects (requests Node's parser refuses carry the
// OCI body too, written by the host's clientError handler); `code: null` marks an answer that is
// no error (a 2xx a case checks by other means).
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { codes } from '../../core/errors/index.ts';
import { MediaType } from '../../core/oci/index.ts';
import { RegistryClient, type PushedImage, type Send } from '../support/app.ts';
import { startLocalHost, type RunningRegistry } from '../support/local-host.ts';
import { rawExchange, sleep, type RawOptions, type Writer } from './raw-http.ts';

/** No request of the corpus may take longer than this to be answered (or closed). */
export const DEADLINE_MS = 10_000;

export const BASE_REPO = 'hostile/base';
export const BASE_TAG = 'v1';

export interface Answer {
  status: number;
  /** Lowercased names. */
  headers: Record<string, string>;
  body: Buffer;
  /** A HEAD answer: no body to judge. */
  head: boolean;
}

export interface Ctx {
  host: RunningRegistry;
  client: RegistryClient;
  base: PushedImage;
  /** A request with fetch(), bounded by the deadline. */
  fetch(method: string, path: string, init?: { headers?: Record<string, string>; body?: Uint8Array | string }): Promise<Answer>;
  /** A request over a bare socket; the first response, or a failure if none came before the deadline. */
  raw(request: Uint8Array | string | Writer, options?: Partial<RawOptions>): Promise<Answer>;
  /** Records a blob link the corpus made on purpose (a case's setup), for the final index check. */
  legit(repo: string, digest: string): void;
}

export interface Case {
  name: string;
  expect: { status: number; code: string | null };
  /** Set only where the spec makes the right answer a success (e.g. a mount's fallback): why. */
  notAnError?: string;
  send(ctx: Ctx): Promise<Answer>;
  /** Checks on what the request left behind, once its answer is judged. */
  after?(ctx: Ctx, answer: Answer): Promise<void>;
}

const SPEC_CODES = Object.keys(codes).filter((c) => c !== 'UNKNOWN');

/** Declares the corpus of one test file: the host, the cases, and the checks that follow them. */
export function hostileCorpus(title: string, cases: Case[], options: { env?: Record<string, string> } = {}): void {
  let ctx: Ctx;
  const links = new Map<string, Set<string>>();
  const faults: string[] = [];
  const seen = new Set<string>();

  beforeAll(async () => {
    const host = await startLocalHost({ env: { CIRRUS_LOG_REQUESTS: '1', ...options.env } });
    const client = new RegistryClient(deadlineTransport(host.url));
    const base = await client.pushImage(BASE_REPO, BASE_TAG, { layers: 2 });
    for (const digest of [sha256(base.config), ...base.layers.map(sha256)]) link(BASE_REPO, digest);
    ctx = {
      host,
      client,
      base,
      fetch: (method, path, init = {}) => fetchAnswer(host.url, method, path, init),
      raw: async (request, opts = {}) => {
        const exchange = await rawExchange(host.port, request, { deadlineMs: DEADLINE_MS, ...opts });
        const first = exchange.responses[0];
        if (!first) throw new Error(`the server closed the connection without an answer (after ${exchange.ms} ms)`);
        return { ...first, head: opts.head === true };
      },
      legit: link,
    };
  });
  afterAll(() => ctx?.host.stop());

  function link(repo: string, digest: string): void {
    if (!links.has(digest)) links.set(digest, new Set());
    links.get(digest)!.add(repo);
  }

  // Faults the client may never see (it hung up first) still show in the host's log: collect them
  // after every case, with the case's name, before the log's ring buffer forgets them.
  function scanLog(caseName: string): void {
    for (const line of ctx?.host.output().split('\n') ?? []) {
      if (seen.has(line)) continue;
      seen.add(line);
      const event = parseLogLine(line);
      if (event && (event.level === 'error' || (typeof event.status === 'number' && event.status >= 500))) {
        faults.push(`${caseName}: ${line.slice(0, 600)}`);
      }
    }
  }
  afterEach((test) => scanLog(test.task.name));

  describe(title, () => {
    for (const c of cases) {
      const expected = `${c.expect.status}${c.expect.code ? ` ${c.expect.code}` : ''}`;
      it(c.name.includes('→') ? c.name : `${c.name} → ${expected}`, async () => {
        const answer = await c.send(ctx);
        await judge(c, answer);
        await c.after?.(ctx, answer);
      });
    }
  });

  describe('afterwards', () => {
    it(`the image pushed first still pulls byte-identical (${BASE_REPO}:${BASE_TAG})`, async () => {
      const { base } = ctx;
      const manifest = await ctx.fetch('GET', `/v2/${BASE_REPO}/manifests/${BASE_TAG}`, { headers: { Accept: MediaType.ociManifest } });
      expect(manifest.status).toBe(200);
      expect(manifest.body.equals(Buffer.from(base.bytes))).toBe(true);
      expect(manifest.headers['docker-content-digest']).toBe(base.digest);
      for (const blob of [base.config, ...base.layers]) {
        const res = await fetch(`${ctx.host.url}/v2/${BASE_REPO}/blobs/${sha256(blob)}`, { signal: AbortSignal.timeout(DEADLINE_MS) });
        expect(res.status).toBe(200);
        expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(blob))).toBe(true);
      }
    });

    it('the catalog and tag list show only what was pushed legitimately', async () => {
      const catalog = await ctx.fetch('GET', '/v2/_catalog');
      expect(JSON.parse(catalog.body.toString())).toEqual({ repositories: [BASE_REPO] });
      const tags = await ctx.fetch('GET', `/v2/${BASE_REPO}/tags/list`);
      expect(JSON.parse(tags.body.toString())).toEqual({ name: BASE_REPO, tags: [BASE_TAG] });
    });

    it('the SQLite index holds no repository, manifest, tag or blob the corpus did not legitimately create', () => {
      const db = new DatabaseSync(join(ctx.host.dataDir, 'index.db'), { readOnly: true });
      try {
        const rows = db.prepare('SELECT pk, sk FROM items ORDER BY pk, sk').all() as Array<{ pk: string; sk: string }>;
        const byPartition = new Map<string, string[]>();
        for (const { pk, sk } of rows) byPartition.set(pk, [...(byPartition.get(pk) ?? []), sk]);
        const repos = new Set([...links.values()].flatMap((r) => [...r]));
        const expected = new Map<string, string[]>();
        expected.set('CATALOG', [BASE_REPO]);
        for (const repo of repos) {
          const sks = [...links].filter(([, r]) => r.has(repo)).map(([d]) => `LINK#${d}`);
          if (repo === BASE_REPO) sks.push(`MANIFEST#${ctx.base.digest}`, `TAG#${BASE_TAG}`);
          expected.set(`REPO#${repo}`, sks.sort());
        }
        for (const [digest, r] of links) expected.set(`BLOB#${digest}`, ['BLOB', ...[...r].map((n) => `REPO#${n}`)].sort());
        // Repository content must be exactly what was made on purpose. Upload sessions are garbage GC
        // collects; access-control and audit partitions are not content.
        const actual = new Map([...byPartition].filter(([pk]) => /^(REPO#|BLOB#|CATALOG$)/.test(pk)));
        expect(Object.fromEntries(actual)).toEqual(Object.fromEntries([...expected].sort(([a], [b]) => (a < b ? -1 : 1))));
      } finally {
        db.close();
      }
    });

    it('the registry logged no 5xx and no unexpected fault, even for requests whose client hung up', async () => {
      // A request cut short may finish (and log) after its case ended.
      await sleep(500);
      scanLog('(late)');
      expect(faults).toEqual([]);
    });
  });
}

async function judge(c: Case, a: Answer): Promise<void> {
  const text = a.body.toString('utf8');
  const summary = `${a.status} ${text.slice(0, 300)}`;
  expect(a.status, summary).toBe(c.expect.status);
  if (c.notAnError === undefined) {
    expect(a.status, summary).toBeGreaterThanOrEqual(400);
    expect(a.status, summary).toBeLessThan(500);
  }
  // Never a stack trace, a source path or a file's contents, whoever answers.
  expect(text).not.toMatch(/\n\s+at |\.ts:\d+|SQLite format|root:x:0/);
  if (c.expect.code === null || a.head) return;
  expect(a.headers['content-type'], summary).toMatch(/^application\/json/);
  const body = JSON.parse(text) as { errors?: Array<{ code?: unknown; message?: unknown }> };
  expect(Object.keys(body), summary).toEqual(['errors']);
  const first = body.errors?.[0];
  expect(first?.code, summary).toBe(c.expect.code);
  expect(SPEC_CODES).toContain(first?.code);
  expect(typeof first?.message === 'string' && first.message.length > 0, summary).toBe(true);
}

async function fetchAnswer(
  base: string,
  method: string,
  path: string,
  init: { headers?: Record<string, string>; body?: Uint8Array | string },
): Promise<Answer> {
  const res = await fetch(new URL(path, base), {
    method,
    headers: init.headers,
    body: init.body as RequestInit['body'],
    redirect: 'manual',
    signal: AbortSignal.timeout(DEADLINE_MS),
  });
  return { status: res.status, headers: Object.fromEntries(res.headers), body: Buffer.from(await res.arrayBuffer()), head: method === 'HEAD' };
}

function deadlineTransport(base: string): Send {
  return (method, target, init = {}) =>
    fetch(new URL(target, base), {
      method,
      headers: init.headers,
      body: init.body as RequestInit['body'],
      redirect: 'manual',
      signal: AbortSignal.timeout(DEADLINE_MS),
    });
}

function parseLogLine(line: string): Record<string, unknown> | undefined {
  const json = line.replace(/^\[(stdout|stderr)\] /, '');
  if (!json.startsWith('{')) return undefined;
  try {
    return JSON.parse(json) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

export function sha256(bytes: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}
