// kill -9 of the local host in the middle of a burst of manifest PUTs (images, indexes, referrers,
// multi-tag pushes, manifests large enough to be stored as objects, blob-then-manifest chains, and
// bodies sent half-way), then a restart over the same data dir, three times over. After each restart:
// every acknowledged push is there, no tag points at a missing manifest, every manifest's blobs and
// children exist (through the API and in the store's index itself), and pushing everything again works.
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { onAws } from '../support/backend.ts';
import { startLocalHost, type RunningRegistry } from '../support/local-host.ts';
import { cleanUp, makeTempDir, removeTree } from '../support/tmp.ts';
import { head, rawExchange, write } from '../hostile/raw-http.ts';
import { checkIndex, checkThroughApi, type Ack } from './manifest-checks.ts';
import { sha256, withDeadline } from './support.ts';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const CONFIG = 'application/vnd.oci.image.config.v1+json';
const LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';
const REPOS = ['crash/a', 'crash/b'];
/** Requests answered before each round's kill: at once, early, about half-way. */
const KILL_AFTER = [1, 30, 70];

type Desc = { mediaType: string; digest: string; size: number };
const descOf = (mediaType: string, bytes: Uint8Array): Desc => ({ mediaType, digest: sha256(bytes), size: bytes.byteLength });
const json = (value: unknown) => Buffer.from(JSON.stringify(value));

/** One push of the burst: a blob and/or manifest requests, fixed bytes, so it can be replayed. */
interface Op {
  name: string;
  run(url: string, acks: Ack[]): Promise<void>;
}

/** Blobs and child manifests every round builds on, pushed before any kill. */
interface Base {
  config: Desc;
  layers: Desc[];
  children: Map<string, Array<{ desc: Desc; bytes: Buffer }>>;
}

const hosts: RunningRegistry[] = [];
let dataDir: string | undefined;
afterAll(() => cleanUp(...hosts.map((h) => () => h.stop()), dataDir ? () => removeTree(dataDir!) : undefined));

async function start(): Promise<RunningRegistry> {
  const host = await startLocalHost({ dataDir, env: { CIRRUS_LOG_REQUESTS: '0' } });
  hosts.push(host);
  return host;
}

async function pushBlob(url: string, repo: string, bytes: Uint8Array): Promise<void> {
  const res = await fetch(`${url}/v2/${repo}/blobs/uploads/?digest=${sha256(bytes)}`, { method: 'POST', body: bytes, signal: AbortSignal.timeout(30_000) });
  if (res.status !== 201) throw new Error(`blob push: ${res.status} ${await res.text()}`);
}

async function putManifest(url: string, repo: string, reference: string, bytes: Buffer, type: string, acks: Ack[], tags: string[], query = ''): Promise<void> {
  const res = await fetch(`${url}/v2/${repo}/manifests/${reference}${query}`, {
    method: 'PUT',
    headers: { 'Content-Type': type },
    body: bytes,
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`manifest PUT ${repo}:${reference}: ${res.status} ${text}`);
  expect(res.headers.get('docker-content-digest')).toBe(sha256(bytes));
  acks.push({ repo, digest: sha256(bytes), tags });
}

async function setUp(url: string): Promise<Base> {
  const config = json({ architecture: 'amd64', os: 'linux' });
  const layers = Array.from({ length: 6 }, () => randomBytes(2048));
  const children = new Map<string, Array<{ desc: Desc; bytes: Buffer }>>();
  for (const repo of REPOS) {
    for (const blob of [config, ...layers]) await pushBlob(url, repo, blob);
    const list: Array<{ desc: Desc; bytes: Buffer }> = [];
    for (let i = 0; i < 4; i++) {
      const bytes = json({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: descOf(CONFIG, config), layers: [descOf(LAYER, layers[i]!)], annotations: { child: `${i}` } });
      await putManifest(url, repo, sha256(bytes), bytes, OCI_MANIFEST, [], []);
      list.push({ desc: descOf(OCI_MANIFEST, bytes), bytes });
    }
    children.set(repo, list);
  }
  return { config: descOf(CONFIG, config), layers: layers.map((l) => descOf(LAYER, l)), children };
}

/** The pushes of round `r`, each with its own tags, so an acknowledged tag names exactly one digest. */
function burst(r: number, base: Base): { ops: Op[]; slow: Array<{ repo: string; tag: string; bytes: Buffer }> } {
  const ops: Op[] = [];
  const image = (i: string, layers: Desc[], extra: object = {}) =>
    json({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: base.config, layers, annotations: { round: `${r}`, op: i }, ...extra });
  const repoOf = (i: number) => REPOS[i % REPOS.length]!;
  for (let i = 0; i < 60; i++) {
    const repo = repoOf(i);
    const tag = `r${r}-img-${i}`;
    const bytes = image(tag, base.layers.slice(0, 1 + (i % 6)));
    ops.push({ name: tag, run: (url, acks) => putManifest(url, repo, tag, bytes, OCI_MANIFEST, acks, [tag]) });
  }
  for (let i = 0; i < 24; i++) {
    const repo = repoOf(i);
    const tag = `r${r}-chain-${i}`;
    const blob = randomBytes(1024 + i * 97);
    const bytes = image(tag, [descOf(LAYER, blob), base.layers[0]!]);
    ops.push({ name: tag, run: async (url, acks) => {
      await pushBlob(url, repo, blob);
      await putManifest(url, repo, tag, bytes, OCI_MANIFEST, acks, [tag]);
    } });
  }
  for (let i = 0; i < 16; i++) {
    const repo = repoOf(i);
    const tag = `r${r}-idx-${i}`;
    const kids = base.children.get(repo)!;
    const bytes = json({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [kids[i % 4]!.desc, kids[(i + 1) % 4]!.desc], annotations: { op: tag } });
    ops.push({ name: tag, run: (url, acks) => putManifest(url, repo, tag, bytes, OCI_INDEX, acks, [tag]) });
  }
  for (let i = 0; i < 6; i++) {
    const repo = repoOf(i);
    const tag = `r${r}-idxchain-${i}`;
    const child = image(`${tag}-child`, [base.layers[i % 6]!]);
    const bytes = json({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [descOf(OCI_MANIFEST, child), base.children.get(repo)![0]!.desc] });
    ops.push({ name: tag, run: async (url, acks) => {
      await putManifest(url, repo, sha256(child), child, OCI_MANIFEST, acks, []);
      await putManifest(url, repo, tag, bytes, OCI_INDEX, acks, [tag]);
    } });
  }
  for (let i = 0; i < 6; i++) {
    const repo = repoOf(i);
    const tag = `r${r}-big-${i}`;
    // Over the ~350 KB an index item holds: stored as an object, then indexed.
    const bytes = image(tag, base.layers, { annotations: { round: `${r}`, op: tag, padding: 'x'.repeat(400 * 1024) } });
    ops.push({ name: tag, run: (url, acks) => putManifest(url, repo, tag, bytes, OCI_MANIFEST, acks, [tag]) });
  }
  for (let i = 0; i < 6; i++) {
    const repo = repoOf(i);
    const tag = `r${r}-ref-${i}`;
    const bytes = image(tag, [base.layers[1]!], { artifactType: 'application/vnd.example.sig', subject: base.children.get(repo)![i % 4]!.desc });
    ops.push({ name: tag, run: (url, acks) => putManifest(url, repo, tag, bytes, OCI_MANIFEST, acks, [tag]) });
  }
  for (let i = 0; i < 6; i++) {
    const repo = repoOf(i);
    const tags = ['a', 'b', 'c'].map((s) => `r${r}-multi-${i}-${s}`);
    const bytes = image(tags[0]!, [base.layers[2]!]);
    ops.push({ name: tags[0]!, run: (url, acks) => putManifest(url, repo, sha256(bytes), bytes, OCI_MANIFEST, acks, tags, `?${tags.map((t) => `tag=${t}`).join('&')}`) });
  }
  const slow = Array.from({ length: 3 }, (_, i) => ({ repo: repoOf(i), tag: `r${r}-slow-${i}`, bytes: image(`r${r}-slow-${i}`, [base.layers[3]!]) }));
  return { ops, slow };
}

/** Half of a manifest body, sent and then left hanging until the host dies. */
function sendHalf(host: RunningRegistry, s: { repo: string; tag: string; bytes: Buffer }, killed: Promise<void>): Promise<unknown> {
  return rawExchange(
    host.port,
    async (socket) => {
      await write(socket, head('PUT', `/v2/${s.repo}/manifests/${s.tag}`, { 'Content-Type': OCI_MANIFEST, 'Content-Length': s.bytes.length }, host.port));
      await write(socket, s.bytes.subarray(0, s.bytes.length >> 1));
      await killed;
    },
    { deadlineMs: 60_000 },
  );
}

/** Runs every op at once and kills the host once `killAfter` of them have been answered. */
async function burstAndKill(host: RunningRegistry, ops: Op[], slow: ReturnType<typeof burst>['slow'], killAfter: number): Promise<Ack[]> {
  const acks: Ack[] = [];
  let answered = 0;
  let cut = 0;
  const wrong: string[] = [];
  let kill!: () => void;
  const killNow = new Promise<void>((r) => (kill = r));
  const killed = killNow.then(() => host.kill9());
  const halves = slow.map((s) => sendHalf(host, s, killed));
  const runs = ops.map((op) =>
    op.run(host.url, acks).then(
      () => undefined,
      (error: Error) => {
        // A connection cut by the kill is expected; any answer but 201 before it is not.
        if (error instanceof TypeError && error.message === 'fetch failed') cut++;
        else wrong.push(`${op.name}: ${error.message}`);
      },
    ).finally(() => {
      if (++answered >= killAfter) kill();
    }),
  );
  await withDeadline(Promise.all([killed, ...runs, ...halves]), 120_000);
  expect(wrong).toEqual([]);
  // The kill must have landed inside the burst, or this round proved nothing.
  expect(cut, 'pushes cut off by the kill').toBeGreaterThan(0);
  return acks;
}

describe('kill -9 during a burst of manifest PUTs, then a restart over the same data dir', () => {
  it('leaves no dangling reference, keeps every acknowledged push, and takes every push again', async () => {
    dataDir = await makeTempDir('crash-man');
    let host = await start();
    const base = await setUp(host.url);
    const rounds = KILL_AFTER.map((_, r) => burst(r, base));
    const acks: Ack[] = [];
    for (const [r, killAfter] of KILL_AFTER.entries()) {
      const { ops, slow } = rounds[r]!;
      acks.push(...(await burstAndKill(host, ops, slow, killAfter)));
      host = await start();
      await checkThroughApi(host.url, { acks, absentTags: slow.map((s) => ({ repo: s.repo, tag: s.tag })) });
      await checkIndex(dataDir);
    }
    // Everything again, nothing killed this time: every push must be taken.
    const all = rounds.flatMap((round) => round.ops);
    const again: Ack[] = [];
    for (let i = 0; i < all.length; i += 16) {
      await Promise.all(all.slice(i, i + 16).map((op) => op.run(host.url, again).catch((e: Error) => expect.fail(`${op.name}: ${e.message}`))));
    }
    expect(again.length).toBeGreaterThanOrEqual(all.length);
    await checkThroughApi(host.url, { acks: again, absentTags: [] });
    await checkIndex(dataDir);
    // Over dynalite and RGW every write is an HTTP call: slower, above all on a loaded machine.
  }, onAws ? 240_000 : 120_000);
});
