// The distribution-spec conformance "Content Discovery" workflow (v1.1.1, 03_discovery_test.go:
// tags and referrers), against the real local host, with upstream's content: manifests[2] under
// four tags, manifests[4] under tagtest0 as the subject of five referrers (two pushed before it),
// and a referrer of manifests[3], which is never pushed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaType } from '../../core/oci/index.ts';
import { type RegistryClient } from '../support/app.ts';
import { startLocalHost, type RunningRegistry } from '../support/local-host.ts';
import { hostClient, is2xx } from './host.ts';
import {
  ANNOTATION,
  configArtifact,
  DUMMY_DIGEST,
  EMPTY_JSON,
  indexArtifact,
  LAYER_BLOB,
  layerArtifact,
  makeConfig,
  makeManifest,
  REF_BLOB_A,
  REF_BLOB_B,
  TAG,
  TYPE_A,
  TYPE_B,
  type Blob,
} from './upstream-v1.ts';

const NAME = 'conformance/discovery';
const configs = Array.from({ length: 5 }, makeConfig);
const manifests = configs.map(makeManifest);
const subject = manifests[4]!;
const aConfig = configArtifact(TYPE_A, REF_BLOB_A, subject, 'test config a');
const aLayer = layerArtifact(TYPE_A, REF_BLOB_A, subject, 'test layer a');
const bConfig = configArtifact(TYPE_B, REF_BLOB_B, subject, 'test config b');
const bLayer = layerArtifact(TYPE_B, REF_BLOB_B, subject, 'test layer b');
const cLayer = layerArtifact(TYPE_B, REF_BLOB_B, manifests[3]!);
const index = indexArtifact([aConfig, aLayer], subject, 'test index');
const notes = new Map([
  [aConfig.digest, 'test config a'],
  [aLayer.digest, 'test layer a'],
  [bConfig.digest, 'test config b'],
  [bLayer.digest, 'test layer b'],
  [index.digest, 'test index'],
]);

interface Descriptor {
  mediaType: string;
  digest: string;
  artifactType?: string;
  annotations?: Record<string, string>;
}

let host: RunningRegistry;
let client: RegistryClient;
let numTags = 4;
let tagList: string[] = [];
beforeAll(async () => {
  host = await startLocalHost();
  client = hostClient(host.url);
});
afterAll(() => host?.stop());

/** POST, then PUT ?digest= with Content-Length and the body → 2xx. */
async function pushBlob(b: Blob): Promise<void> {
  const post = await client.send('POST', `/v2/${NAME}/blobs/uploads/`);
  const url = new URL(post.headers.get('location')!);
  url.searchParams.set('digest', b.digest);
  const res = await client.send('PUT', url.pathname + url.search, {
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(b.bytes.byteLength) },
    body: b.bytes,
  });
  expect(is2xx(res.status)).toBe(true);
}

async function putManifest(reference: string, m: Blob, mediaType: string, expectedSubject?: string): Promise<void> {
  const res = await client.putManifest(NAME, reference, m.bytes, mediaType);
  expect(is2xx(res.status)).toBe(true);
  if (expectedSubject) expect(res.headers.get('oci-subject')).toBe(expectedSubject);
}

async function listTags(query = ''): Promise<{ status: number; tags: string[] }> {
  const res = await client.get(`/v2/${NAME}/tags/list${query}`);
  return { status: res.status, tags: ((await res.json()) as { tags: string[] }).tags };
}

async function referrers(digest: string, query = ''): Promise<{ res: Response; manifests: Descriptor[] }> {
  const res = await client.get(`/v2/${NAME}/referrers/${digest}${query}`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe(MediaType.ociIndex);
  return { res, manifests: ((await res.json()) as { manifests: Descriptor[] }).manifests };
}

describe('Content Discovery', () => {
  describe('Setup', () => {
    it('populates the registry with a config blob and the layer', async () => {
      await pushBlob(configs[2]!);
      await pushBlob(LAYER_BLOB);
    });

    it('populates the registry with four tags of manifests[2]', async () => {
      for (let i = 0; i < numTags; i++) await putManifest(`test${i}`, manifests[2]!, MediaType.ociManifest);
      tagList = (await listTags()).tags;
      expect(tagList).toEqual(['test0', 'test1', 'test2', 'test3']);
    });

    it('references setup: referrers before and after their subject, each answered with OCI-Subject', async () => {
      await pushBlob(EMPTY_JSON);
      expect(EMPTY_JSON.digest).toBe('sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a');
      await pushBlob(REF_BLOB_A);
      await putManifest(aConfig.digest, aConfig, MediaType.ociManifest, subject.digest);
      await putManifest(aLayer.digest, aLayer, MediaType.ociManifest, subject.digest);
      await putManifest(index.digest, index, MediaType.ociIndex, subject.digest);
      await pushBlob(configs[4]!);
      await pushBlob(LAYER_BLOB);
      await putManifest(TAG, subject, MediaType.ociManifest);
      await pushBlob(REF_BLOB_B);
      await putManifest(bConfig.digest, bConfig, MediaType.ociManifest, subject.digest);
      await putManifest(bLayer.digest, bLayer, MediaType.ociManifest, subject.digest);
      await putManifest(cLayer.digest, cLayer, MediaType.ociManifest, manifests[3]!.digest);
    });
  });

  describe('Listing tags', () => {
    it('GET tags/list → 200 with every tag, sorted', async () => {
      const { status, tags } = await listTags();
      expect(status).toBe(200);
      tagList = tags;
      numTags = tags.length;
      expect(tags).toEqual(['tagtest0', 'test0', 'test1', 'test2', 'test3']);
    });

    it('n limits the count to exactly n, and a Link header leads on', async () => {
      const n = Math.floor(numTags / 2);
      const res = await client.get(`/v2/${NAME}/tags/list?n=${n}`);
      expect(res.status).toBe(200);
      const page = ((await res.json()) as { tags: string[] }).tags;
      expect(page).toEqual(tagList.slice(0, n));
      const link = /^<([^>]+)>; rel="next"$/.exec(res.headers.get('link') ?? '');
      expect(link).not.toBeNull();
      const next = await client.get(link![1]!);
      expect(((await next.json()) as { tags: string[] }).tags).toEqual(tagList.slice(n, 2 * n));
    });

    it('last sets where the list starts', async () => {
      const n = Math.floor(numTags / 2);
      const first = (await listTags(`?n=${n}`)).tags;
      const { status, tags } = await listTags(`?n=${n}&last=${first[n - 1]}`);
      expect(status).toBe(200);
      expect(tags.length).toBeLessThanOrEqual(n);
      expect(tags).toEqual(tagList.slice(n, 2 * n));
      expect(tags).not.toContain(first[n - 1]);
    });
  });

  describe('Listing referrers', () => {
    it('a digest nothing refers to (sha256 of "hello world") → 200 with an empty index', async () => {
      expect((await referrers(DUMMY_DIGEST)).manifests).toEqual([]);
    });

    it('the subject → its five referrers, each with exactly its one annotation', async () => {
      const { manifests: found } = await referrers(subject.digest);
      expect(found).toHaveLength(5);
      expect(new Set(found.map((m) => m.digest))).toEqual(new Set(notes.keys()));
      for (const m of found) expect(m.annotations).toEqual({ [ANNOTATION]: notes.get(m.digest) });
      expect(found.find((m) => m.digest === index.digest)?.mediaType).toBe(MediaType.ociIndex);
    });

    it('?artifactType= filters: OCI-Filters-Applied: artifactType and the two of that type', async () => {
      const { res, manifests: found } = await referrers(subject.digest, `?artifactType=${encodeURIComponent(TYPE_A)}`);
      expect(res.headers.get('oci-filters-applied')).toBe('artifactType');
      expect(found).toHaveLength(2);
      expect(new Set(found.map((m) => m.digest))).toEqual(new Set([aConfig.digest, aLayer.digest]));
      for (const m of found) expect(m.annotations).toEqual({ [ANNOTATION]: notes.get(m.digest) });
      expect(found.every((m) => m.artifactType === TYPE_A)).toBe(true);
    });

    it('a subject that was never pushed (manifests[3]) → its one referrer', async () => {
      expect((await referrers(manifests[3]!.digest)).manifests.map((m) => m.digest)).toEqual([cLayer.digest]);
    });
  });

  describe('Teardown', () => {
    // Upstream accepts 2xx, 404 or 405 for each delete: the index first, then the subject before its referrers.
    it('deletes the manifests → 202; their tags and referrer entries go with them', async () => {
      for (const m of [index, manifests[2]!, subject, aConfig, aLayer, bConfig, bLayer, cLayer]) {
        expect((await client.delete(`/v2/${NAME}/manifests/${m.digest}`)).status).toBe(202);
      }
      expect((await referrers(subject.digest)).manifests).toEqual([]);
      expect((await referrers(manifests[3]!.digest)).manifests).toEqual([]);
      expect((await listTags()).tags).toEqual([]);
    });

    it('deletes the blobs → 202', async () => {
      for (const b of [configs[2]!, LAYER_BLOB, configs[4]!, REF_BLOB_A, REF_BLOB_B, EMPTY_JSON]) {
        expect((await client.delete(`/v2/${NAME}/blobs/${b.digest}`)).status).toBe(202);
      }
    });
  });
});
