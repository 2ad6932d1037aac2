// The content the distribution-spec v1.1.1 conformance suite pushes (conformance/setup.go),
// made again with the same shapes and JSON encoding: configs with a random author, manifests
// indented with tabs whose config descriptor carries `data` and a field the spec does not define
// (`newUnspecifiedField`, null on the layers), a gzipped tar layer, a manifest without mediaType
// and no layers, and the referrers of the discovery workflow.
import { randomBytes } from 'node:crypto';
import { MediaType } from '../../core/oci/index.ts';
import { sha256 } from '../support/app.ts';

export const CONFIG_TYPE = 'application/vnd.oci.image.config.v1+json';
export const LAYER_TYPE = 'application/vnd.oci.image.layer.v1.tar+gzip';

/** sha256("hello world"): upstream's digest of a blob nobody pushed. */
export const DUMMY_DIGEST = sha256('hello world');
/** Upstream's reference of a manifest nobody pushed: not even a valid tag. */
export const NONEXISTENT_MANIFEST = '.INVALID_MANIFEST_NAME';
export const INVALID_MANIFEST_CONTENT = 'blablabla';
export const TAG = 'tagtest0';
export const EMPTY_LAYER_TAG = 'emptylayer';

/** A gzipped tarball of one text file (upstream's layerBase64String). */
export const LAYER = Buffer.from(
  'H4sIAAAAAAAAA+3OQQrCMBCF4a49xXgBSUnaHMCTRBptQRNpp6i3t0UEV7oqIv7fYgbmzeJpHHSjVy0' +
    'WZCa1c/MufWVe94N3RWlrZ72x3k/30nhbFWKWLPU0Dhp6keJ8im//PuU/6pZH2WVtYx8b0Sz7LjWSR5VLG6YRBumSzOlGtjkd+qD' +
    'jMWiX07Befbs7AAAAAAAAAAAAAAAAAPyzO34MnqoAKAAA',
  'base64',
);

export interface Blob {
  bytes: Buffer;
  digest: string;
}

const blob = (bytes: Buffer): Blob => ({ bytes, digest: sha256(bytes) });
/** Go's json.MarshalIndent(v, "", "\t"). */
const indent = (value: unknown) => Buffer.from(JSON.stringify(value, null, '\t'));
const AUTHOR_CHARS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-';
const randomAuthor = () => Array.from(randomBytes(16), (b) => AUTHOR_CHARS[b % AUTHOR_CHARS.length]).join('');

/** A descriptor as upstream's struct encodes it: `newUnspecifiedField` is always there (null when unset). */
export function descriptor(mediaType: string, b: Blob, extra: { data?: Buffer; newUnspecifiedField?: Buffer } = {}): Record<string, unknown> {
  const d: Record<string, unknown> = { mediaType, digest: b.digest, size: b.bytes.byteLength };
  if (extra.data) d.data = extra.data.toString('base64');
  d.newUnspecifiedField = extra.newUnspecifiedField ? extra.newUnspecifiedField.toString('base64') : null;
  return d;
}

/** One config per workflow: upstream makes 16 (`numWorkflows`), each with a random author. */
export function makeConfig(): Blob {
  return blob(indent({ author: randomAuthor(), architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
}

/** Upstream's manifests[i]: the config (with its bytes as `data`) and the one layer. */
export function makeManifest(config: Blob): Blob {
  return blob(
    indent({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: descriptor(CONFIG_TYPE, config, { data: config.bytes, newUnspecifiedField: Buffer.from('hello world') }),
      layers: [descriptor(LAYER_TYPE, blob(LAYER))],
    }),
  );
}

/** The push workflow's manifest with no layers and no mediaType field. */
export function makeEmptyLayerManifest(config: Blob): Blob {
  return blob(
    indent({
      schemaVersion: 2,
      config: descriptor(CONFIG_TYPE, config, { data: config.bytes, newUnspecifiedField: Buffer.from('hello world') }),
      layers: [],
    }),
  );
}

export const LAYER_BLOB = blob(LAYER);

/** Upstream's randomBlob(42, …) and the chunked blob split after size/2+1 bytes (setupChunkedBlob). */
export function chunkedBlob(size: number): { whole: Blob; chunk1: Buffer; chunk2: Buffer; range1: string; range2: string } {
  const bytes = randomBytes(size);
  const cut = Math.floor(size / 2) + 1;
  return {
    whole: blob(bytes),
    chunk1: bytes.subarray(0, cut),
    chunk2: bytes.subarray(cut),
    range1: `0-${cut - 1}`,
    range2: `${cut}-${size - 1}`,
  };
}

// ---- the discovery workflow's referrers ----

export const EMPTY_JSON = blob(Buffer.from('{}'));
export const REF_BLOB_A = blob(Buffer.from('NHL Peanut Butter on my NHL bagel'));
export const REF_BLOB_B = blob(Buffer.from('NBA Strawberry Jam on my NBA croissant'));
export const TYPE_A = 'application/vnd.nhl.peanut.butter.bagel';
export const TYPE_B = 'application/vnd.nba.strawberry.jam.croissant';
export const TYPE_INDEX = 'application/vnd.food.stand';
export const ANNOTATION = 'org.opencontainers.conformance.test';

const subjectOf = (m: Blob) => descriptor(MediaType.ociManifest, m);
const emptyJsonDescriptor = () => descriptor(MediaType.ociEmpty, EMPTY_JSON);

/** config.mediaType = the artifact type, layers = [the empty JSON]. */
export function configArtifact(type: string, config: Blob, subject: Blob, note: string): Blob {
  return blob(
    indent({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: descriptor(type, config),
      layers: [emptyJsonDescriptor()],
      subject: subjectOf(subject),
      annotations: { [ANNOTATION]: note },
    }),
  );
}

/** artifactType set, config = the empty JSON, one layer of the artifact type; `note` undefined: no annotations. */
export function layerArtifact(type: string, layer: Blob, subject: Blob, note?: string): Blob {
  const m: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    artifactType: type,
    config: emptyJsonDescriptor(),
    layers: [descriptor(type, layer)],
    subject: subjectOf(subject),
  };
  if (note !== undefined) m.annotations = { [ANNOTATION]: note };
  return blob(indent(m));
}

/** An index of two manifests, with a subject and artifactType. */
export function indexArtifact(children: Blob[], subject: Blob, note: string): Blob {
  return blob(
    indent({
      schemaVersion: 2,
      mediaType: MediaType.ociIndex,
      artifactType: TYPE_INDEX,
      manifests: children.map((c) => descriptor(MediaType.ociManifest, c)),
      subject: subjectOf(subject),
      annotations: { [ANNOTATION]: note },
    }),
  );
}
