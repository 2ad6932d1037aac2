/**
 * Blobs: the global BLOB item (one per stored digest) and the per-repository links that make a
 * blob visible. A digest alone grants nothing: reads go through the repository's link.
 */
import { ConditionFailedError } from '../ports/table.ts';
import type { RegistryDeps } from './deps.ts';
import { afterPrefix, keys } from './keys.ts';
import { allItems } from './paging.ts';

export interface BlobInfo {
  digest: string;
  key: string;
  size: number;
}

export class Blobs {
  constructor(private readonly deps: RegistryDeps) {}

  /** The blob as `name` sees it: undefined unless it is linked there. */
  async stat(name: string, digest: string): Promise<BlobInfo | undefined> {
    const { table } = this.deps;
    const [link, blob] = await Promise.all([
      table.get(keys.link(name, digest).pk, keys.link(name, digest).sk),
      table.get(keys.blob(digest).pk, keys.blob(digest).sk),
    ]);
    if (!link || !blob) return undefined;
    return { digest, key: blob.attrs.key as string, size: blob.attrs.size as number };
  }

  /** The stored blob regardless of links (for mount and commit). */
  async global(digest: string): Promise<BlobInfo | undefined> {
    const { pk, sk } = keys.blob(digest);
    const blob = await this.deps.table.get(pk, sk);
    return blob ? { digest, key: blob.attrs.key as string, size: blob.attrs.size as number } : undefined;
  }

  /**
   * Indexes verified bytes stored at `key`. The first commit of a digest wins; a later
   * duplicate's bytes are deleted and the existing blob is used instead (stamped, so an online
   * GC that began earlier cannot sweep it under us). Returns the blob as indexed.
   */
  async commit(digest: string, key: string, size: number): Promise<BlobInfo> {
    const { table, objects, now } = this.deps;
    const { pk, sk } = keys.blob(digest);
    await objects.setTags(key, { digest });
    for (;;) {
      const at = now();
      try {
        await table.put({ pk, sk, attrs: { key, size, createdAt: at, lastRef: at } }, { kind: 'absent' });
        return { digest, key, size };
      } catch (error) {
        if (!(error instanceof ConditionFailedError)) throw error;
      }
      try {
        const existing = await table.update(pk, sk, { lastRef: at }, { kind: 'exists' });
        if (existing.attrs.key !== key) await objects.delete(key);
        return { digest, key: existing.attrs.key as string, size: existing.attrs.size as number };
      } catch (error) {
        // Swept between our two writes: try again to index our own bytes.
        if (!(error instanceof ConditionFailedError)) throw error;
      }
    }
  }

  /** Makes a stored blob visible in `name`. Fails (false) when the blob is gone. */
  async link(name: string, digest: string): Promise<boolean> {
    const { table, now } = this.deps;
    const at = now();
    const blob = keys.blob(digest);
    try {
      // Stamping first keeps an online GC from sweeping the blob while we link it.
      await table.update(blob.pk, blob.sk, { lastRef: at }, { kind: 'exists' });
    } catch (error) {
      if (error instanceof ConditionFailedError) return false;
      throw error;
    }
    const reverse = keys.blobRepo(digest, name);
    await table.put({ pk: reverse.pk, sk: reverse.sk, attrs: { linkedAt: at } });
    const link = keys.link(name, digest);
    await table.put({ pk: link.pk, sk: link.sk, attrs: { linkedAt: at } });
    return true;
  }

  /** Hides the blob in `name`; the bytes stay until GC finds them unreferenced everywhere. */
  async unlink(name: string, digest: string): Promise<boolean> {
    const { table } = this.deps;
    const link = keys.link(name, digest);
    const existed = (await table.get(link.pk, link.sk)) !== undefined;
    await table.delete(link.pk, link.sk);
    const reverse = keys.blobRepo(digest, name);
    await table.delete(reverse.pk, reverse.sk);
    return existed;
  }

  /** Repositories where the digest is linked, in name order, for mount without `from`. */
  async *linkedRepositories(digest: string): AsyncGenerator<string> {
    for await (const item of allItems(this.deps.table, keys.blob(digest).pk, { prefix: keys.blobRepoPrefix, limit: 100 })) {
      yield afterPrefix(item.sk, keys.blobRepoPrefix);
    }
  }

  async redirectUrl(blob: BlobInfo): Promise<string> {
    return this.deps.objects.signedGetUrl(blob.key, { expiresInSeconds: this.deps.settings.signedUrlSeconds });
  }
}
