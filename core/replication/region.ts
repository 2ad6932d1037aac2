/**
 * The other kind of destination (DESIGN §6): another Cirrus region, reached through its stores,
 * not its API. A rule names it `cirrus-region://<table>/<bucket>[?region=<aws-region>]`.
 *
 * Blob bytes are copied by the destination bucket itself (S3 CopyObject, UploadPartCopy ranges
 * above 5 GiB: `ObjectCopier`), never through this process, into a key of the destination's own
 * scheme (`blobs/<uuid>`); then they are committed and linked, and manifests, referrers and tags
 * written, through the core use cases of a `Registry` over the destination's table and bucket,
 * the ones a push runs. So every invariant of DESIGN §2 holds there: a manifest goes in only when
 * its blobs are linked, the tag last. The digest was verified over these bytes by the source
 * registry when they were pushed, and a copy is refused unless it holds exactly the source's size.
 * A copy that dies before its commit leaves an unindexed object, which GC's orphan sweep removes.
 */
import { randomUUID } from 'node:crypto';
import type { ObjectCopier, ObjectStore } from '../ports/object-store.ts';
import type { Table } from '../ports/table.ts';
import type { RegistryDeps } from '../registry/deps.ts';
import { keys } from '../registry/keys.ts';
import { Registry } from '../registry/registry.ts';
import { RemoteError } from './distribution-client.ts';
import { LocalEndpoint, type BlobWrite } from './endpoints.ts';

export const REGION_SCHEME = 'cirrus-region://';

/** Another region's stores, by name. `region` absent: this region's own endpoint (local tests). */
export interface RegionTarget {
  table: string;
  bucket: string;
  region?: string;
}

const TARGET = /^cirrus-region:\/\/([A-Za-z0-9_.-]{3,255})\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/?(?:\?region=([a-z]{2}(?:-[a-z]+)+-\d))?$/;

export function isRegionUrl(url: string): boolean {
  return url.startsWith(REGION_SCHEME);
}

/** The target a rule's URL names, or undefined when it is no well-formed `cirrus-region://` URL. */
export function parseRegionUrl(url: string): RegionTarget | undefined {
  const m = TARGET.exec(url);
  if (!m) return undefined;
  return { table: m[1] as string, bucket: m[2] as string, ...(m[3] ? { region: m[3] } : {}) };
}

export function regionUrl(target: RegionTarget): string {
  return `${REGION_SCHEME}${target.table}/${target.bucket}${target.region ? `?region=${target.region}` : ''}`;
}

export interface RegionStores {
  table: Table;
  objects: ObjectStore & ObjectCopier;
}

/** How a host reaches other regions: its own bucket (the copies' source) and the stores of a target. */
export interface Regions {
  sourceBucket: string;
  open(target: RegionTarget): RegionStores;
}

/** The destination region, written through the core's use cases over its own stores. */
export class RegionEndpoint extends LocalEndpoint {
  override readonly label: string;
  private readonly copier: ObjectCopier;

  constructor(
    target: RegionTarget,
    stores: RegionStores,
    settings: Pick<RegistryDeps, 'settings' | 'now'>,
    private readonly source: { registry: Registry; bucket: string },
  ) {
    super(new Registry({ table: stores.table, objects: stores.objects, settings: settings.settings, now: settings.now }));
    this.label = regionUrl(target);
    this.copier = stores.objects;
  }

  override async writeBlob(repo: string, digest: string, size: number): Promise<BlobWrite> {
    const here = this.registry.blobs;
    // Stored in the region already (another repository): a link is the mount.
    if ((await here.global(digest)) && (await here.link(repo, digest))) return { bytes: 0, resumedFrom: 0, mounted: true };
    const from = await this.source.registry.blobs.global(digest);
    if (!from) throw new RemoteError(`${digest}: blob unknown at the source`, 404, 'BLOB_UNKNOWN');
    if (size > 0 && size !== from.size) throw new Error(`${digest}: the manifest says ${size} bytes, the source holds ${from.size}`);
    const key = keys.blobObject(randomUUID());
    await this.copier.copyFrom({ bucket: this.source.bucket, key: from.key }, key, { size: from.size });
    // BLOB (first commit wins; a duplicate copy is deleted), then LINK: as an upload commits.
    await here.commit(digest, key, from.size);
    if (!(await here.link(repo, digest))) throw new RemoteError(`${digest}: swept at the destination during the copy`, 503, 'UNKNOWN');
    return { bytes: from.size, resumedFrom: 0, mounted: false };
  }
}
