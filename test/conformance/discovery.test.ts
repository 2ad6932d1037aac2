// The distribution-spec conformance "Content Discovery" workflow (tags and referrers), against the real local host.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaType } from '../../core/oci/index.ts';
import {
  CONFIG_TYPE,
  descriptorOf,
  EMPTY_DESCRIPTOR,
  EMPTY_JSON,
  LAYER_TYPE,
  manifestBytes,
  ociIndex,
  ociManifest,
  sha256,
  UNKNOWN_DIGEST,
  type Desc,
  type RegistryClient,
} from '../support/app.ts';
import { startLocalHost, type RunningRegistry } from '../support/local-host.ts';
import { hostClient } from './host.ts';

const NAME = 'conformance/discovery';
const TYPE_A = 'application/vnd.nhl.peanut.butter.bagel';
const TYPE_B = 'application/vnd.nhl.peanut.butter.bagel.b';
const NOTE = 'org.opencontainers.conformance.test';

const config = new TextEncoder().encode(JSON.stringify({ os: 'linux', architecture: 'amd64', n: 4 }));
const layer = randomBytes(1024);
const subjectManifest = manifestBytes(ociManifest(descriptorOf(CONFIG_TYPE, config), [descriptorOf(LAYER_TYPE, layer)]));
const subject = descriptorOf(MediaType.ociManifest, subjectManifest);
const missingSubject = descriptorOf(MediaType.ociManifest, manifestBytes(ociManifest(descriptorOf(CONFIG_TYPE, '{"missing":1}'), [])));
const refBlobA = randomBytes(64);
const refBlobB = randomBytes(64);
const notes = new Map<string, string>();

/** A referrer whose config media type is the artifact type. */
const configArtifact = (blob: Uint8Array, type: string, note: string, about: Desc) =>
  manifestBytes(ociManifest(descriptorOf(type, blob), [descriptorOf(LAYER_TYPE, blob)], { subject: about, annotations: { [NOTE]: note } }));
/** A referrer with artifactType and the empty config. */
const layerArtifact = (blob: Uint8Array, type: string, note: string, about: Desc) =>
  manifestBytes(ociManifest(EMPTY_DESCRIPTOR, [descriptorOf(LAYER_TYPE, blob)], { artifactType: type, subject: about, annotations: { [NOTE]: note } }));

let host: RunningRegistry;
let client: RegistryClient;
let tags: string[] = [];
beforeAll(async () => {
  host = await startLocalHost();
  client = hostClient(host.url);
});
afterAll(() => host?.stop());

async function pushReferrer(bytes: Uint8Array, mediaType: string, note: string, expectedSubject: string) {
  notes.set(sha256(bytes), note);
  const res = await client.putManifest(NAME, sha256(bytes), bytes, mediaType);
  expect(res.status).toBe(201);
  expect(res.headers.get('oci-subject')).toBe(expectedSubject);
}

async function referrers(digest: string, query = '') {
  const res = await client.get(`/v2/${NAME}/referrers/${digest}${query}`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe(MediaType.ociIndex);
  return { res, manifests: ((await res.json()) as { manifests: Desc[] }).manifests };
}

describe('Content Discovery', () => {
  describe('Setup', () => {
    it('populates the registry with a blob, a layer and four tags', async () => {
      await client.pushBlob(NAME, config);
      await client.pushBlob(NAME, layer);
      for (let i = 0; i < 4; i++) await client.pushManifest(NAME, `test${i}`, subjectManifest, MediaType.ociManifest);
      // Pushed after 'test3' but sorts first.
      await client.pushManifest(NAME, 'TEST-upper', subjectManifest, MediaType.ociManifest);
    });

    it('pushes referrers before their subject, the subject, more referrers, and one to a missing subject', async () => {
      await client.pushBlob(NAME, EMPTY_JSON);
      await client.pushBlob(NAME, refBlobA);
      const a1 = configArtifact(refBlobA, TYPE_A, 'a-config', subject);
      const a2 = layerArtifact(refBlobA, TYPE_A, 'a-layer', subject);
      await pushReferrer(a1, MediaType.ociManifest, 'a-config', subject.digest);
      await pushReferrer(a2, MediaType.ociManifest, 'a-layer', subject.digest);
      const index = manifestBytes(
        ociIndex([descriptorOf(MediaType.ociManifest, a1), descriptorOf(MediaType.ociManifest, a2)], {
          artifactType: TYPE_B,
          subject,
          annotations: { [NOTE]: 'index' },
        }),
      );
      await pushReferrer(index, MediaType.ociIndex, 'index', subject.digest);
      await client.pushManifest(NAME, 'tagged', subjectManifest, MediaType.ociManifest);
      await client.pushBlob(NAME, refBlobB);
      await pushReferrer(configArtifact(refBlobB, TYPE_B, 'b-config', subject), MediaType.ociManifest, 'b-config', subject.digest);
      await pushReferrer(layerArtifact(refBlobB, TYPE_B, 'b-layer', subject), MediaType.ociManifest, 'b-layer', subject.digest);
      await pushReferrer(layerArtifact(refBlobB, TYPE_A, 'c-layer', missingSubject), MediaType.ociManifest, 'c-layer', missingSubject.digest);
    });
  });

  describe('Listing tags', () => {
    it('GET tags/list → 200 with every tag, sorted', async () => {
      const res = await client.get(`/v2/${NAME}/tags/list`);
      expect(res.status).toBe(200);
      tags = ((await res.json()) as { tags: string[] }).tags;
      expect(tags).toEqual(['TEST-upper', 'tagged', 'test0', 'test1', 'test2', 'test3']);
    });

    it('n limits the count and a Link header leads on', async () => {
      const n = Math.floor(tags.length / 2);
      const res = await client.get(`/v2/${NAME}/tags/list?n=${n}`);
      const page = ((await res.json()) as { tags: string[] }).tags;
      expect(page).toEqual(tags.slice(0, n));
      const link = /^<([^>]+)>; rel="next"$/.exec(res.headers.get('link') ?? '');
      expect(link).not.toBeNull();
      const next = await client.get(link![1]!);
      expect(((await next.json()) as { tags: string[] }).tags).toEqual(tags.slice(n, 2 * n));
    });

    it('last sets where the list starts', async () => {
      const n = Math.floor(tags.length / 2);
      const res = await client.get(`/v2/${NAME}/tags/list?n=${n}&last=${tags[n - 1]}`);
      expect(res.status).toBe(200);
      const page = ((await res.json()) as { tags: string[] }).tags;
      expect(page.length).toBeLessThanOrEqual(n);
      expect(page).toEqual(tags.slice(n, 2 * n));
      expect(page).not.toContain(tags[n - 1]);
    });
  });

  describe('Listing referrers', () => {
    it('a digest nothing refers to → 200 with an empty index', async () => {
      expect((await referrers(UNKNOWN_DIGEST)).manifests).toEqual([]);
    });

    it('the subject → its five referrers, each with its annotation', async () => {
      const { manifests } = await referrers(subject.digest);
      expect(manifests).toHaveLength(5);
      expect(new Set(manifests.map((m) => m.digest)).size).toBe(5);
      for (const m of manifests) expect(m.annotations).toEqual({ [NOTE]: notes.get(m.digest) });
      expect(manifests.find((m) => notes.get(m.digest) === 'index')?.mediaType).toBe(MediaType.ociIndex);
    });

    it('?artifactType= filters (OCI-Filters-Applied: artifactType)', async () => {
      const { res, manifests } = await referrers(subject.digest, `?artifactType=${encodeURIComponent(TYPE_A)}`);
      expect(res.headers.get('oci-filters-applied')).toBe('artifactType');
      expect(manifests.map((m) => notes.get(m.digest)).sort()).toEqual(['a-config', 'a-layer']);
      expect(manifests.every((m) => m.artifactType === TYPE_A)).toBe(true);
    });

    it('a subject that was never pushed → its one referrer', async () => {
      const { manifests } = await referrers(missingSubject.digest);
      expect(manifests.map((m) => notes.get(m.digest))).toEqual(['c-layer']);
    });
  });

  describe('Teardown', () => {
    it('deletes the referrers, then the tagged manifest and its tags', async () => {
      for (const digest of notes.keys()) expect((await client.delete(`/v2/${NAME}/manifests/${digest}`)).status).toBe(202);
      expect((await referrers(subject.digest)).manifests).toEqual([]);
      expect((await referrers(missingSubject.digest)).manifests).toEqual([]);
      expect((await client.delete(`/v2/${NAME}/manifests/${subject.digest}`)).status).toBe(202);
      const res = await client.get(`/v2/${NAME}/tags/list`);
      expect(((await res.json()) as { tags: string[] }).tags).toEqual([]);
      for (const blob of [config, layer, EMPTY_JSON, refBlobA, refBlobB]) {
        expect((await client.delete(`/v2/${NAME}/blobs/${sha256(blob)}`)).status).toBe(202);
      }
    });
  });
});
