// The test data of the redesigned conformance suite (distribution-spec main branch, testdata.go
// and run.go GenerateData), generated again here with the same shapes: images, indexes, nested
// indexes, artifacts, referrers, data fields, non-distributable layers, custom fields, sha512.
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { MediaType } from '../../core/oci/index.ts';
import { digestOf, type Algo } from './upstream-api.ts';

export const MT = {
  conf1: 'application/vnd.example.oci.conformance.v1',
  conf2: 'application/vnd.example.oci.conformance.v2',
  octet: 'application/octet-stream',
  config: 'application/vnd.oci.image.config.v1+json',
  image: MediaType.ociManifest,
  index: MediaType.ociIndex,
  layer: 'application/vnd.oci.image.layer.v1.tar',
  layerGz: 'application/vnd.oci.image.layer.v1.tar+gzip',
  layerNd: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  layerNdGz: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  empty: MediaType.ociEmpty,
} as const;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  data?: string;
  platform?: Platform;
  artifactType?: string;
}

export interface Platform {
  architecture: string;
  os: string;
}

export interface GenOpts {
  algo?: Algo;
  annotations?: Record<string, string>;
  annotationUniq?: boolean;
  artifactType?: string;
  uncompressed?: boolean;
  configBytes?: Uint8Array;
  configMediaType?: string;
  extraField?: boolean;
  layerBytes?: Uint8Array;
  layerCount?: number;
  layerMediaType?: string;
  platform?: Platform;
  platforms?: Platform[];
  setData?: boolean;
  subject?: Descriptor;
  tag?: string;
}

const text = () => randomBytes(16).toString('base64url');
const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
/** genAddJSONFields: one more top-level field with a random name and value. */
const extra = (value: Record<string, unknown>, on?: boolean) => (on ? { ...value, [`org.${text()}`]: text() } : value);

export class TestData {
  readonly tags = new Map<string, string>();
  readonly blobs = new Map<string, Uint8Array>();
  readonly manifests = new Map<string, Uint8Array>();
  /** The order manifests are pushed in (children first); deletes go in reverse. */
  readonly manOrder: string[] = [];
  readonly desc = new Map<string, Descriptor>();
  /** What the referrers API must list for each subject. */
  readonly referrers = new Map<string, Descriptor[]>();
  /** Manifests pushed by digest with `?tag=` for the tags pointing at them. */
  readonly tagParam = new Set<string>();

  constructor(readonly name: string) {}

  private describe(digest: string, mediaType: string, bytes: Uint8Array, o: GenOpts): Descriptor {
    const d: Descriptor = { mediaType, digest, size: bytes.byteLength };
    if (o.setData) d.data = Buffer.from(bytes).toString('base64');
    this.desc.set(digest, d);
    return d;
  }

  addBlob(bytes: Uint8Array, mediaType: string, o: GenOpts = {}): string {
    const digest = digestOf(bytes, o.algo);
    this.blobs.set(digest, bytes);
    this.describe(digest, mediaType, bytes, o);
    return digest;
  }

  /** A layer (tar, gzipped unless `uncompressed`): returns the digests of its stored form and of its tar. */
  genLayer(n: number, o: GenOpts = {}): { stored: string; diffId: string } {
    const tar = new TextEncoder().encode(`Conformance test file contents for file number ${n}.\nTodays lucky number is ${text()}\n`);
    const stored = o.uncompressed ? tar : new Uint8Array(gzipSync(tar));
    const digest = this.addBlob(stored, o.uncompressed ? MT.layer : MT.layerGz, o);
    return { stored: digest, diffId: digestOf(tar, o.algo) };
  }

  genConfig(platform: Platform, diffIds: string[], o: GenOpts = {}): string {
    const config = extra({ author: 'OCI Conformance Test', ...platform, rootfs: { type: 'layers', diff_ids: diffIds } }, o.extraField);
    return this.addBlob(json(config), o.configMediaType ?? MT.config, o);
  }

  genManifest(config: Descriptor, layers: Descriptor[], o: GenOpts = {}): string {
    let annotations = o.annotations;
    if (o.annotationUniq) annotations = { ...annotations, [`org.example.${text()}`]: text() };
    const m: Record<string, unknown> = { schemaVersion: 2, mediaType: MT.image };
    if (o.artifactType) m.artifactType = o.artifactType;
    m.config = config;
    m.layers = layers;
    if (o.subject) m.subject = o.subject;
    if (annotations) m.annotations = annotations;
    const bytes = json(extra(m, o.extraField));
    const digest = digestOf(bytes, o.algo);
    this.manifests.set(digest, bytes);
    this.manOrder.push(digest);
    this.describe(digest, MT.image, bytes, o);
    if (o.subject) this.addReferrer(o.subject.digest, { mediaType: MT.image, artifactType: o.artifactType || config.mediaType, digest, size: bytes.byteLength, annotations });
    if (o.tag) this.tags.set(o.tag, digest);
    return digest;
  }

  /** genManifestFull: layers (image layers, or artifact blobs), a config, and the manifest. */
  genManifestFull(o: GenOpts = {}): string {
    const layerCount = o.layerCount ?? 2;
    const stored: string[] = [];
    const diffIds: string[] = [];
    for (let l = 0; l < layerCount; l++) {
      if (!o.layerMediaType || o.layerMediaType.startsWith('application/vnd.oci.image.layer.v1.')) {
        const layer = this.genLayer(l, o);
        stored.push(layer.stored);
        diffIds.push(layer.diffId);
      } else {
        const digest = this.addBlob(o.layerBytes ?? new Uint8Array(randomBytes(2048)), o.layerMediaType, o);
        stored.push(digest);
        diffIds.push(digest);
      }
    }
    const config =
      !o.configMediaType || o.configMediaType === MT.config
        ? this.genConfig(o.platform ?? { architecture: 'amd64', os: 'linux' }, diffIds, o)
        : this.addBlob(o.configBytes ?? new Uint8Array(0), o.configMediaType, o);
    return this.genManifest(this.desc.get(config)!, stored.map((d) => this.desc.get(d)!), o);
  }

  genIndex(platforms: Array<Platform | undefined>, children: string[], o: GenOpts = {}): string {
    let annotations = o.annotations;
    if (o.annotationUniq) annotations = { ...annotations, [`org.example.${text()}`]: text() };
    const ind: Record<string, unknown> = { schemaVersion: 2, mediaType: MT.index };
    if (o.artifactType) ind.artifactType = o.artifactType;
    ind.manifests = children.map((child, i) => (platforms[i] ? { ...this.desc.get(child)!, platform: platforms[i] } : this.desc.get(child)!));
    if (o.subject) ind.subject = o.subject;
    if (annotations) ind.annotations = annotations;
    const bytes = json(extra(ind, o.extraField));
    const digest = digestOf(bytes, o.algo);
    this.manifests.set(digest, bytes);
    this.manOrder.push(digest);
    this.describe(digest, MT.index, bytes, o);
    if (o.subject) this.addReferrer(o.subject.digest, { mediaType: MT.index, artifactType: o.artifactType, digest, size: bytes.byteLength, annotations });
    if (o.tag) this.tags.set(o.tag, digest);
    return digest;
  }

  /** genIndexFull: an image per platform (every option passed down, as upstream does), then the index. */
  genIndexFull(o: GenOpts = {}): string {
    const platforms = o.platforms ?? [
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64' },
    ];
    const children = platforms.map((platform) => this.genManifestFull({ ...o, platform }));
    return this.genIndex(platforms, children, o);
  }

  private addReferrer(subject: string, d: Descriptor): void {
    if (d.artifactType === undefined) delete d.artifactType;
    if (d.annotations === undefined) delete d.annotations;
    this.referrers.set(subject, [...(this.referrers.get(subject) ?? []), d]);
  }
}

const AMD64 = { os: 'linux', architecture: 'amd64' };
const ARM64 = { os: 'linux', architecture: 'arm64' };
const EMPTY = new TextEncoder().encode('{}');
const NOTE = { 'org.opencontainers.conformance': 'hello conformance test' };

/** GenerateData with the suite's defaults (everything but "sparse"), plus the tag-param sets of its `dev` version. */
export function generateData(): TestData[] {
  const sets: TestData[] = [];
  const add = (name: string, fill: (td: TestData) => void) => {
    const td = new TestData(name);
    fill(td);
    sets.push(td);
  };
  add('image', (td) => td.genManifestFull({ tag: 'image' }));
  add('image-uncompressed', (td) => td.genManifestFull({ tag: 'image-uncompressed', uncompressed: true }));
  add('large-manifest', (td) => {
    const annotations: Record<string, string> = {};
    for (let i = 0; i < 390; i++) annotations[`large-annotation-${i}`] = 'A'.repeat(10000);
    td.genManifestFull({ tag: 'large-manifest', annotations });
  });
  add('index', (td) => td.genIndexFull({ tag: 'index', platforms: [AMD64, ARM64] }));
  add('nested-index', (td) => {
    const a = td.genIndexFull({ platforms: [AMD64, ARM64] });
    const b = td.genIndexFull({ platforms: [AMD64, ARM64] });
    td.genIndex([undefined, undefined], [a, b], { tag: 'index-of-index' });
  });
  add('empty-index', (td) => td.genIndexFull({ tag: 'index', platforms: [] }));
  const artifact = { artifactType: MT.conf1, configMediaType: MT.empty, configBytes: EMPTY, layerCount: 1, layerMediaType: MT.conf1 };
  add('artifact', (td) => td.genManifestFull({ tag: 'artifact', ...artifact }));
  add('artifact-index', (td) => td.genIndexFull({ tag: 'artifact-index', platforms: [AMD64, ARM64], ...artifact }));
  add('artifact-without-layers', (td) => td.genManifestFull({ tag: 'artifact-without-layers', ...artifact, layerBytes: EMPTY, layerMediaType: MT.empty }));
  add('artifacts-with-subject', (td) => {
    const subject = td.desc.get(td.genManifestFull({ tag: 'image' }))!;
    td.genManifestFull({ subject });
    td.genManifestFull({ ...artifact, annotations: NOTE, annotationUniq: true, subject, tag: 'tagged-artifact1' });
    td.genManifestFull({ ...artifact, artifactType: MT.conf2, layerMediaType: MT.octet, annotations: NOTE, annotationUniq: true, subject, tag: 'tagged-artifact2' });
  });
  add('index-with-subject', (td) => {
    const subject = td.desc.get(td.genIndexFull({ tag: 'index' }))!;
    td.genIndexFull({ ...artifact, annotations: NOTE, annotationUniq: true, subject, tag: 'tagged-artifact' });
  });
  add('missing-subject', (td) => {
    const subject = { mediaType: MT.image, size: 123, digest: digestOf(new TextEncoder().encode('missing content')) };
    td.genManifestFull({ ...artifact, annotations: NOTE, annotationUniq: true, subject, tag: 'tagged-artifact' });
  });
  add('data-field', (td) => td.genManifestFull({ tag: 'data-field', setData: true }));
  add('non-distributable-layers', (td) => {
    // Two layers whose bytes live elsewhere (never pushed), then an ordinary one.
    const foreign = (mediaType: string, size: number): Descriptor => {
      const digest = digestOf(randomBytes(256));
      return { mediaType, digest, size, urls: [`https://store.example.com/blobs/sha256/${digest.slice(7)}`] };
    };
    const layers = [foreign(MT.layerNdGz, 123456), foreign(MT.layerNd, 12345)];
    const normal = td.genLayer(1);
    layers.push(td.desc.get(normal.stored)!);
    const config = td.genConfig(AMD64, [digestOf(randomBytes(256)), layers[1]!.digest, normal.diffId]);
    td.genManifest(td.desc.get(config)!, layers, { tag: 'non-distributable-image' });
  });
  add('custom-fields', (td) => td.genIndexFull({ tag: 'custom-fields', platforms: [AMD64, ARM64], extraField: true }));
  add('no-layers', (td) => td.genManifestFull({ tag: 'no-layers', layerCount: 0 }));
  add('sha512', (td) => td.genIndexFull({ algo: 'sha512' }));
  for (const algo of ['sha256', 'sha512'] as const) {
    add(`tag-param-${algo}`, (td) => {
      td.genIndexFull({ tag: `tag-param-${algo}`, algo });
      td.manOrder.forEach((digest, i) => {
        td.tags.set(`tag-param-${algo}-${i}`, digest);
        td.tagParam.add(digest);
      });
    });
  }
  return sets;
}
