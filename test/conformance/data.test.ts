// The data tests of the redesigned conformance suite (distribution-spec main branch, run.go
// TestAll after the blob APIs): for each kind of content, push (blobs, manifests by digest, then
// tags), list tags (with `last`), HEAD and GET everything, list referrers (with and without the
// artifactType filter), then delete tags, manifests and blobs, each delete checked at once.
// Also its first checks on an empty repository and its manifest error cases.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalHost, type RunningRegistry } from '../support/local-host.ts';
import { digestOf, UpstreamApi, type ReferrerDescriptor } from './upstream-api.ts';
import { generateData, TestData, type Descriptor } from './upstream-data.ts';

const REPO = 'conformance/repo1';

let host: RunningRegistry;
let api: UpstreamApi;
beforeAll(async () => {
  host = await startLocalHost();
  api = new UpstreamApi(host.url);
});
afterAll(() => host?.stop());

describe('empty repository', () => {
  it('ping: GET /v2/ → 200', async () => {
    expect((await api.send('GET', '/v2/')).status).toBe(200);
  });

  it('tag list of a repository never pushed to → 200 or 404', async () => {
    expect((await api.tagList(REPO)).tags).toEqual([]);
  });

  it('referrers of a random digest → 200 with an empty OCI index', async () => {
    expect((await api.referrers(REPO, digestOf(randomBytes(32)))).manifests).toEqual([]);
  });
});

const matches = (got: ReferrerDescriptor, goal: Descriptor) =>
  got.digest === goal.digest &&
  got.mediaType === goal.mediaType &&
  got.size === goal.size &&
  (got.artifactType ?? '') === (goal.artifactType ?? '') &&
  Object.entries(goal.annotations ?? {}).every(([k, v]) => got.annotations?.[k] === v);

async function push(td: TestData): Promise<void> {
  for (const [digest, bytes] of td.blobs) await api.blobPostPut(REPO, digest, bytes);
  const pushed = new Set<string>();
  for (const digest of td.manOrder) {
    const tags = td.tagParam.has(digest) ? [...td.tags].filter(([, d]) => d === digest).map(([t]) => t) : [];
    const res = await api.manifestPut(REPO, digest, digest, td.manifests.get(digest)!, { tags });
    const named = res.headers.get('oci-tag')?.split(',').map((t) => t.trim()) ?? [];
    for (const tag of tags) {
      expect(named, 'OCI-Tag names every tag of the ?tag= parameters').toContain(tag);
      pushed.add(tag);
    }
  }
  for (const [tag, digest] of td.tags) {
    if (!pushed.has(tag)) await api.manifestPut(REPO, tag, digest, td.manifests.get(digest)!);
  }
}

async function listTags(td: TestData): Promise<void> {
  const { status, tags } = await api.tagList(REPO);
  if (td.tags.size > 0) expect(status).toBe(200);
  for (const tag of td.tags.keys()) expect(tags).toContain(tag);
  if (tags.length < 2) return;
  const sorted = [...tags].sort();
  // Go's sort.Strings order ("ASCIIbetical"), which the spec's main branch allows.
  expect(tags).toEqual(sorted);
  const end = Math.floor(sorted.length / 2);
  const partial = (await api.tagList(REPO, `?last=${encodeURIComponent(sorted[end - 1]!)}`)).tags;
  for (const tag of sorted.slice(0, end)) expect(partial).not.toContain(tag);
  for (const tag of sorted.slice(end)) expect(partial).toContain(tag);
}

async function readAll(td: TestData, method: 'GET' | 'HEAD'): Promise<void> {
  for (const [tag, digest] of td.tags) await api.manifestExists(method, REPO, tag, digest, td.manifests.get(digest)!);
  for (const digest of td.manOrder) await api.manifestExists(method, REPO, digest, digest, td.manifests.get(digest)!);
  for (const [digest, bytes] of td.blobs) {
    if (method === 'HEAD') await api.blobHeadExists(REPO, digest, bytes);
    else await api.blobGetExists(REPO, digest, bytes);
  }
}

async function listReferrers(td: TestData): Promise<void> {
  for (const [subject, goals] of td.referrers) {
    const all = (await api.referrers(REPO, subject)).manifests;
    for (const goal of goals) expect(all.some((got) => matches(got, goal)), `referrer ${goal.digest} of ${subject}`).toBe(true);
    for (const type of new Set(goals.map((g) => g.artifactType ?? ''))) {
      const { res, manifests } = await api.referrers(REPO, subject, type);
      const filters = (res.headers.get('oci-filters-applied') ?? '').split(',').map((f) => f.trim());
      expect(filters).toContain('artifactType');
      for (const goal of goals.filter((g) => (g.artifactType ?? '') === type)) expect(manifests.some((got) => matches(got, goal))).toBe(true);
      for (const got of manifests) expect(got.artifactType ?? '').toBe(type);
    }
  }
}

async function noReferrers(td: TestData): Promise<void> {
  for (const digest of td.manOrder) {
    const { res, manifests } = await api.referrers(REPO, digest);
    expect(res.status).toBe(200);
    expect(manifests).toEqual([]);
  }
}

async function deleteAll(td: TestData): Promise<void> {
  for (const tag of td.tags.keys()) await api.manifestDelete(REPO, tag);
  for (const digest of [...td.manOrder].reverse()) await api.manifestDelete(REPO, digest);
  for (const digest of td.blobs.keys()) await api.blobDelete(REPO, digest);
}

for (const td of generateData()) {
  describe(td.name, () => {
    it('push: blobs, manifests by digest, then tags → 201, each served back at its Location', () => push(td));
    it('tag list: every tag, sorted; `last` starts after it', () => listTags(td));
    it('HEAD by tag, by digest, and of every blob → 200 with Content-Type, Content-Length, digest', () => readAll(td, 'HEAD'));
    it('GET by tag, by digest, and of every blob → 200 with the bytes', () => readAll(td, 'GET'));
    if (td.referrers.size > 0) it('referrers: every referrer of each subject, then filtered by each artifactType', () => listReferrers(td));
    else it('referrers: none of its manifests has any (an empty list)', () => noReferrers(td));
    it('delete tags, then manifests (parents first), then blobs → 202, 404 at once after', () => deleteAll(td));
  });
}

describe('bad digest image', () => {
  const td = new TestData('bad-digest-image');
  const digest = td.genManifestFull();
  const bytes = Buffer.concat([td.manifests.get(digest)!, Buffer.from('  ')]);

  it('PUT by a digest the body does not hash to → 400, and nothing is stored', async () => {
    for (const [blob, content] of td.blobs) await api.blobPostPut(REPO, blob, content);
    const res = await api.send('PUT', `/v2/${REPO}/manifests/${digest}`, { headers: { 'Content-Type': td.desc.get(digest)!.mediaType }, body: bytes });
    expect(res.status).toBe(400);
    expect((await api.send('DELETE', `/v2/${REPO}/manifests/${digest}`)).status).toBe(404);
    for (const blob of td.blobs.keys()) await api.blobDelete(REPO, blob);
  });
});

describe('manifest errors', () => {
  it('missing manifest by digest → 404', async () => {
    expect((await api.manifestRequest('GET', REPO, digestOf(randomBytes(1024)))).status).toBe(404);
  });

  it('missing manifest by tag → 404', async () => {
    expect((await api.manifestRequest('GET', REPO, `missing-${randomBytes(10).toString('hex')}`)).status).toBe(404);
  });

  it('invalid digest format: PUT sha256:baddigeststring → 400; GET → 404 or 400', async () => {
    const td = new TestData('invalid-manifest-digest');
    const digest = td.genManifestFull({ layerCount: 1 });
    for (const [blob, content] of td.blobs) await api.blobPostPut(REPO, blob, content);
    const put = await api.send('PUT', `/v2/${REPO}/manifests/sha256:baddigeststring`, { headers: { 'Content-Type': td.desc.get(digest)!.mediaType }, body: td.manifests.get(digest)! });
    expect(put.status).toBe(400);
    expect([400, 404]).toContain((await api.manifestRequest('GET', REPO, 'sha256:baddigeststring')).status);
    expect((await api.send('DELETE', `/v2/${REPO}/manifests/${digest}`)).status).toBe(404);
    for (const blob of td.blobs.keys()) await api.blobDelete(REPO, blob);
  });
});
