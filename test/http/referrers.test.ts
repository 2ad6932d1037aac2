import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaType } from '../../core/oci/index.ts';
import {
  createTestApp,
  descriptorOf,
  EMPTY_DESCRIPTOR,
  EMPTY_JSON,
  expectError,
  manifestBytes,
  ociIndex,
  ociManifest,
  sha256,
  UNKNOWN_DIGEST,
  type Desc,
  type TestApp,
} from '../support/app.ts';

const SBOM = 'application/vnd.example.sbom';
const SIG = 'application/vnd.example.signature';
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

/** An artifact manifest (empty config, one payload layer) about `subject`. */
async function artifact(name: string, subject: Desc, artifactType: string, note: string) {
  await t.client.pushBlob(name, EMPTY_JSON);
  const payload = randomBytes(64);
  await t.client.pushBlob(name, payload);
  const doc = ociManifest(EMPTY_DESCRIPTOR, [descriptorOf('application/octet-stream', payload)], {
    artifactType,
    subject,
    annotations: { 'org.example.note': note },
  });
  return manifestBytes(doc);
}

async function referrers(name: string, digest: string, query = '') {
  const res = await t.client.get(`/v2/${name}/referrers/${digest}${query}`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe(MediaType.ociIndex);
  const index = (await res.json()) as { schemaVersion: number; mediaType: string; manifests: Desc[] };
  expect(index.schemaVersion).toBe(2);
  expect(index.mediaType).toBe(MediaType.ociIndex);
  return { index, filters: res.headers.get('oci-filters-applied') };
}

describe('PUT /v2/<name>/manifests/<reference> with a subject', () => {
  it('answers OCI-Subject; the subject may be pushed after its referrer', async () => {
    const config = JSON.stringify({ os: 'linux' });
    await t.client.pushBlob('refs/put', config);
    const later = manifestBytes(ociManifest(descriptorOf('application/vnd.oci.image.config.v1+json', config), []));
    const subject = descriptorOf(MediaType.ociManifest, later);
    const bytes = await artifact('refs/put', subject, SBOM, 'early');
    const res = await t.client.putManifest('refs/put', sha256(bytes), bytes);
    expect(res.status).toBe(201);
    expect(res.headers.get('oci-subject')).toBe(subject.digest);
    expect((await t.client.head(`/v2/refs/put/manifests/${subject.digest}`)).status).toBe(404);
    expect((await referrers('refs/put', subject.digest)).index.manifests.map((m) => m.digest)).toEqual([sha256(bytes)]);
    await t.client.pushManifest('refs/put', 'subject', later);
    expect((await referrers('refs/put', subject.digest)).index.manifests.map((m) => m.digest)).toEqual([sha256(bytes)]);
  });

  it('accepts a referrer whose subject is never pushed', async () => {
    const subject = descriptorOf(MediaType.ociManifest, '{"never":"pushed"}');
    const bytes = await artifact('refs/put', subject, SIG, 'orphan');
    const res = await t.client.putManifest('refs/put', 'orphan', bytes);
    expect(res.status).toBe(201);
    expect(res.headers.get('oci-subject')).toBe(subject.digest);
    expect((await referrers('refs/put', subject.digest)).index.manifests).toHaveLength(1);
  });
});

describe('GET /v2/<name>/referrers/<digest>', () => {
  it('lists referrers as descriptors with artifactType and annotations', async () => {
    const image = await t.client.pushImage('refs/list', 'v1');
    const subject = descriptorOf(MediaType.ociManifest, image.bytes);
    const sbom = await artifact('refs/list', subject, SBOM, 'sbom');
    const sig = await artifact('refs/list', subject, SIG, 'sig');
    await t.client.pushManifest('refs/list', sha256(sbom), sbom);
    await t.client.pushManifest('refs/list', sha256(sig), sig);
    const { index, filters } = await referrers('refs/list', image.digest);
    expect(filters).toBeNull();
    const expected = [
      { mediaType: MediaType.ociManifest, digest: sha256(sbom), size: sbom.byteLength, artifactType: SBOM, annotations: { 'org.example.note': 'sbom' } },
      { mediaType: MediaType.ociManifest, digest: sha256(sig), size: sig.byteLength, artifactType: SIG, annotations: { 'org.example.note': 'sig' } },
    ];
    expect([...index.manifests].sort((a, b) => a.digest.localeCompare(b.digest))).toEqual(expected.sort((a, b) => a.digest.localeCompare(b.digest)));
  });

  it('reports the config media type as artifactType of an image manifest without one', async () => {
    const image = await t.client.pushImage('refs/config', 'v1');
    const config = JSON.stringify({ kind: 'attestation' });
    await t.client.pushBlob('refs/config', config);
    const doc = manifestBytes(ociManifest(descriptorOf('application/vnd.example.attestation.config', config), [], { subject: descriptorOf(MediaType.ociManifest, image.bytes) }));
    await t.client.pushManifest('refs/config', sha256(doc), doc);
    const { index } = await referrers('refs/config', image.digest);
    expect(index.manifests).toEqual([{ mediaType: MediaType.ociManifest, digest: sha256(doc), size: doc.byteLength, artifactType: 'application/vnd.example.attestation.config' }]);
  });

  it('lists an index referrer with its artifactType', async () => {
    const image = await t.client.pushImage('refs/index', 'v1');
    const subject = descriptorOf(MediaType.ociManifest, image.bytes);
    const child = await artifact('refs/index', subject, SBOM, 'child');
    await t.client.pushManifest('refs/index', sha256(child), child);
    const index = manifestBytes(ociIndex([descriptorOf(MediaType.ociManifest, child)], { artifactType: SIG, subject }));
    const res = await t.client.putManifest('refs/index', sha256(index), index, MediaType.ociIndex);
    expect(res.headers.get('oci-subject')).toBe(image.digest);
    const listed = (await referrers('refs/index', image.digest)).index.manifests.find((m) => m.digest === sha256(index));
    expect(listed).toEqual({ mediaType: MediaType.ociIndex, digest: sha256(index), size: index.byteLength, artifactType: SIG });
  });

  it('filters by ?artifactType= and says so with OCI-Filters-Applied', async () => {
    const image = await t.client.pushImage('refs/filter', 'v1');
    const subject = descriptorOf(MediaType.ociManifest, image.bytes);
    for (const [type, note] of [[SBOM, 'a'], [SIG, 'b'], [SBOM, 'c']] as const) {
      const bytes = await artifact('refs/filter', subject, type, note);
      await t.client.pushManifest('refs/filter', sha256(bytes), bytes);
    }
    const { index, filters } = await referrers('refs/filter', image.digest, `?artifactType=${encodeURIComponent(SBOM)}`);
    expect(filters).toBe('artifactType');
    expect(index.manifests.map((m) => m.annotations?.['org.example.note']).sort()).toEqual(['a', 'c']);
    expect(index.manifests.every((m) => m.artifactType === SBOM)).toBe(true);
    const none = await referrers('refs/filter', image.digest, `?artifactType=${encodeURIComponent('application/vnd.none')}`);
    expect(none.index.manifests).toEqual([]);
    expect(none.filters).toBe('artifactType');
  });

  it('forgets a referrer once it is deleted', async () => {
    const image = await t.client.pushImage('refs/delete', 'v1');
    const subject = descriptorOf(MediaType.ociManifest, image.bytes);
    const keep = await artifact('refs/delete', subject, SBOM, 'keep');
    const drop = await artifact('refs/delete', subject, SBOM, 'drop');
    await t.client.pushManifest('refs/delete', sha256(keep), keep);
    await t.client.pushManifest('refs/delete', sha256(drop), drop);
    expect((await t.client.delete(`/v2/refs/delete/manifests/${sha256(drop)}`)).status).toBe(202);
    expect((await referrers('refs/delete', image.digest)).index.manifests.map((m) => m.digest)).toEqual([sha256(keep)]);
  });

  it('answers an empty index for a digest nothing refers to', async () => {
    expect((await referrers('refs/none', UNKNOWN_DIGEST)).index.manifests).toEqual([]);
  });

  it('keeps referrers per repository', async () => {
    const subject = descriptorOf(MediaType.ociManifest, '{"shared":1}');
    const bytes = await artifact('refs/one', subject, SBOM, 'one');
    await t.client.pushManifest('refs/one', sha256(bytes), bytes);
    expect((await referrers('refs/two', subject.digest)).index.manifests).toEqual([]);
  });

  it('answers 400 DIGEST_INVALID to a malformed digest', async () => {
    await expectError(await t.client.get('/v2/refs/none/referrers/sha256:short'), 400, 'DIGEST_INVALID');
  });
});
