/**
 * Copies one work item from source to destination, in the order that keeps the destination
 * consistent at every moment (DESIGN §6): blobs (mounted when the destination has them, skipped
 * when it shows them, else streamed in chunks and resumable), then child manifests, then the
 * manifest, then its referrers (referrers API, and cosign's `sha256-<hex>.*` tags), then the tag
 * last. The tag moves only if the source still points where it did when the copy began, so an
 * older copy never moves a tag back. Every step is idempotent: a copy killed anywhere and run
 * again converges, and the destination never shows a tag whose manifest or blobs it lacks.
 */
import { parseManifest } from '../oci/manifest.ts';
import type { AuditSink } from '../auth/audit.ts';
import type { Table } from '../ports/table.ts';
import { keys } from '../registry/keys.ts';
import type { Endpoint, ManifestBytes, UploadCheckpoint } from './endpoints.ts';
import { destinationRepository, type ReplicationRule } from './rules.ts';
import type { ItemReport, ReplicationRun, WorkItem } from './types.ts';

export interface CopyContext {
  rule: ReplicationRule;
  run: ReplicationRun;
  source: Endpoint;
  destination: Endpoint;
  /** Where resumable uploads are remembered. */
  table: Table;
  audit?: AuditSink;
  now: () => number;
  /** Digest → a destination repository that has the blob, for cross-repository mounts (kept by the process). */
  mountHints?: Map<string, string>;
  /** Blob copies in flight in this process: two items sharing a layer upload it once. */
  inFlight?: Map<string, Promise<unknown>>;
}

/** cosign's tag scheme: `sha256-<hex>.sig|.att|.sbom` next to the image they are about. */
export const COSIGN_TAG = /^sha256-[0-9a-f]{64}(?:\.[A-Za-z0-9_-]+)?$/;
const MAX_REFERRER_DEPTH = 3;

export function refOf(item: WorkItem): string {
  return item.tag !== undefined ? `${item.repo}:${item.tag}` : `${item.repo}@${item.digest}`;
}

export class ItemCopy {
  readonly report: ItemReport;
  private readonly destRepo: string;
  private readonly done = new Set<string>();

  constructor(
    private readonly ctx: CopyContext,
    private readonly item: WorkItem,
  ) {
    this.report = { ref: refOf(item), outcome: 'copied', manifests: 0, blobs: 0, bytes: 0, mounted: 0, resumedBytes: 0 };
    this.destRepo = destinationRepository(ctx.rule, item.repo);
  }

  async run(): Promise<ItemReport> {
    const { item } = this;
    if (item.op === 'delete') await this.delete();
    else if (item.tag !== undefined) await this.copyTag(item.tag, true);
    else if (item.digest !== undefined) {
      if (!(await this.ctx.source.hasManifest(item.repo, item.digest))) return this.finish('skipped', 'gone at the source');
      await this.copyManifest(item.digest, 0);
      if (this.report.manifests === 0 && this.report.blobs === 0) this.report.outcome = 'in-sync';
    }
    return this.report;
  }

  private finish(outcome: ItemReport['outcome'], reason?: string): ItemReport {
    this.report.outcome = outcome;
    if (reason) this.report.reason = reason;
    return this.report;
  }

  private async copyTag(tag: string, withCosign: boolean): Promise<void> {
    const { source, destination, run } = this.ctx;
    const repo = this.item.repo;
    const start = await source.resolveTag(repo, tag);
    if (!start) {
      this.finish('skipped', 'the tag is gone at the source');
      return;
    }
    const current = run.mode === 'sync' ? await destination.resolveTag(this.destRepo, tag) : undefined;
    const inSync = current?.digest === start.digest;
    await this.copyManifest(start.digest, 0);
    if (!inSync) {
      const manifest = await this.manifestAt(start.digest);
      // The source must still point where it did when the copy began: an older copy never moves a tag back.
      const before = await source.resolveTag(repo, tag);
      if (!before || before.digest !== start.digest || before.pushedAt !== start.pushedAt) {
        this.finish('superseded', 'the tag moved at the source during the copy; the newer copy writes it');
        return;
      }
      await destination.putManifest(this.destRepo, tag, manifest);
      await this.audited('replication.tag.put', start.digest, { tag });
      if (this.ctx.run.trigger === 'push') this.report.lagMs = Math.max(0, this.ctx.now() - (start.pushedAt ?? this.item.at ?? this.ctx.now()));
      // A newer copy may have written the tag between our check and our write: put it back where the source is now.
      const after = await source.resolveTag(repo, tag);
      if (after && after.digest !== start.digest && (await destination.hasManifest(this.destRepo, after.digest))) {
        const newer = await source.getManifest(repo, after.digest);
        if (newer) await destination.putManifest(this.destRepo, tag, newer);
      }
    }
    if (withCosign) {
      for (const cosignTag of await source.tagsStartingWith(repo, `${start.digest.replace(':', '-')}`)) {
        if (COSIGN_TAG.test(cosignTag)) await this.copyTag(cosignTag, false);
      }
    }
    if (inSync && this.report.manifests === 0 && this.report.blobs === 0) this.report.outcome = 'in-sync';
    else if (this.report.outcome !== 'superseded' && this.report.outcome !== 'skipped') this.report.outcome = 'copied';
  }

  /** The manifest, its blobs and children, then its referrers; skipped (but referrers still checked) when the destination has it. */
  private async copyManifest(digest: string, depth: number): Promise<void> {
    if (this.done.has(digest)) return;
    this.done.add(digest);
    const { source, destination, run } = this.ctx;
    const present = run.mode === 'sync' && (await destination.hasManifest(this.destRepo, digest));
    if (!present) {
      const manifest = await this.manifestAt(digest);
      const parsed = parseManifest(manifest.bytes, manifest.mediaType);
      if (!parsed.ok) throw new Error(`${this.item.repo}@${digest}: ${parsed.reason}`);
      for (const child of parsed.value.manifests) await this.copyManifest(child, depth);
      const sizes = blobSizes(manifest.bytes);
      for (const blob of parsed.value.blobs) await this.copyBlob(blob, sizes.get(blob));
      await destination.putManifest(this.destRepo, digest, manifest);
      this.report.manifests += 1;
      await this.audited('replication.manifest.put', digest, {});
    }
    if (depth < MAX_REFERRER_DEPTH) {
      for (const referrer of await source.referrers(this.item.repo, digest)) await this.copyManifest(referrer.digest, depth + 1);
    }
  }

  private async copyBlob(digest: string, size: number | undefined): Promise<void> {
    const { source, destination, mountHints } = this.ctx;
    if (this.done.has(digest)) return;
    this.done.add(digest);
    const key = `${this.ctx.rule.name} ${this.destRepo}@${digest}`;
    const pending = this.ctx.inFlight?.get(key);
    if (pending) await pending.catch(() => {});
    if (await destination.hasBlob(this.destRepo, digest)) return;
    let release = () => {};
    this.ctx.inFlight?.set(key, new Promise<void>((resolve) => (release = resolve)));
    try {
      await this.uploadBlob(digest, size);
    } finally {
      this.ctx.inFlight?.delete(key);
      release();
    }
  }

  private async uploadBlob(digest: string, size: number | undefined): Promise<void> {
    const { source, destination, mountHints } = this.ctx;
    const open = (start: number) => source.openBlob(this.item.repo, digest, start);
    const from = mountHints?.get(digest);
    const written = await destination.writeBlob(this.destRepo, digest, size ?? 0, open, this.checkpoint(digest), from !== this.destRepo ? from : undefined);
    remember(mountHints, digest, this.destRepo);
    this.report.blobs += 1;
    this.report.bytes += written.bytes;
    this.report.resumedBytes += written.resumedFrom;
    if (written.mounted) this.report.mounted += 1;
  }

  private async delete(): Promise<void> {
    const { rule, source, destination } = this.ctx;
    const { repo, tag, digest } = this.item;
    if (!rule.deletes) return void this.finish('skipped', 'deletions do not follow (the rule has no --deletes)');
    if (tag !== undefined) {
      if (await source.resolveTag(repo, tag)) return this.copyTag(tag, true);
      const destDigest = (await destination.resolveTag(this.destRepo, tag))?.digest;
      const result = await destination.deleteTag(this.destRepo, tag);
      if (result === 'unsupported') {
        // Distribution deletes tags only with their manifest: do that when the source has no use for it.
        if (destDigest && !(await source.hasManifest(repo, destDigest))) {
          await destination.deleteManifest(this.destRepo, destDigest);
          await this.audited('replication.manifest.delete', destDigest, { tag });
          return void this.finish('deleted');
        }
        return void this.finish('skipped', 'the destination deletes a tag only with its manifest, which the source still has');
      }
      if (result === 'absent') return void this.finish('in-sync');
      await this.audited('replication.tag.delete', destDigest, { tag });
      return void this.finish('deleted');
    }
    if (digest === undefined) return;
    if (await source.hasManifest(repo, digest)) return void this.finish('skipped', 'the manifest exists again at the source');
    const deleted = await destination.deleteManifest(this.destRepo, digest);
    if (deleted) await this.audited('replication.manifest.delete', digest, {});
    this.finish(deleted ? 'deleted' : 'in-sync');
  }

  private async manifestAt(digest: string): Promise<ManifestBytes> {
    const manifest = await this.ctx.source.getManifest(this.item.repo, digest);
    if (!manifest) throw new Error(`${this.item.repo}@${digest}: the manifest is gone at the source`);
    return manifest;
  }

  private checkpoint(digest: string): UploadCheckpoint {
    const { table } = this.ctx;
    const { pk, sk } = keys.replicationUpload(this.ctx.rule.name, this.destRepo, digest);
    return {
      load: async () => (await table.get(pk, sk))?.attrs.location as string | undefined,
      save: async (location) => table.put({ pk, sk, attrs: { location, savedAt: this.ctx.now() } }),
      clear: () => table.delete(pk, sk),
    };
  }

  private async audited(action: string, digest: string | undefined, detail: Record<string, string>): Promise<void> {
    const { audit, rule } = this.ctx;
    if (!audit) return;
    const where: Record<string, string> = rule.direction === 'push' ? { destination: rule.remote.url } : { source: rule.remote.url, from: this.item.repo };
    await audit.record({
      who: `replication:${rule.name}`,
      action,
      result: 'ok',
      repository: this.destRepo,
      ...(digest ? { digest } : {}),
      source: 'replication',
      detail: { ...detail, ...where, runId: this.ctx.run.runId },
    });
  }
}

/** Descriptor sizes named in a manifest (config, layers), so uploads know how much to send. */
function blobSizes(bytes: Uint8Array): Map<string, number> {
  const out = new Map<string, number>();
  try {
    const json = JSON.parse(Buffer.from(bytes).toString('utf8')) as { config?: { digest: string; size: number }; layers?: Array<{ digest: string; size: number }>; blobs?: Array<{ digest: string; size: number }> };
    for (const d of [json.config, ...(json.layers ?? []), ...(json.blobs ?? [])]) if (d?.digest) out.set(d.digest, d.size);
  } catch {
    // parseManifest has vetted it already
  }
  return out;
}

const MOUNT_HINTS = 10_000;

function remember(hints: Map<string, string> | undefined, digest: string, repo: string): void {
  if (!hints) return;
  hints.delete(digest);
  hints.set(digest, repo);
  if (hints.size > MOUNT_HINTS) hints.delete(hints.keys().next().value as string);
}
