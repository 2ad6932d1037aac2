/**
 * Manifests, tags and referrers of one repository: the write order that keeps the index
 * consistent at every step (DESIGN §2):
 *   verify + stamp references → body → MANIFEST → REFERRER → TAG (the visibility point).
 * A crash between two writes leaves the old state visible plus garbage GC can collect.
 */
import { randomUUID } from 'node:crypto';
import { codes, RegistryError } from '../errors/index.ts';
import { digestOf, type DigestAlgorithm } from '../oci/digest.ts';
import { referrerDescriptor, type Descriptor } from '../oci/descriptor.ts';
import { MAX_MANIFEST_BYTES, parseManifest, type ParsedManifest } from '../oci/manifest.ts';
import { ConditionFailedError, type Attributes, type Item } from '../ports/table.ts';
import { Blobs } from './blobs.ts';
import { Catalog } from './catalog.ts';
import type { RegistryDeps } from './deps.ts';
import { keys } from './keys.ts';
import { allItems } from './paging.ts';
import { immutableTagError, TagImmutability } from './policies/immutability.ts';
import { collect } from './streams.ts';

export interface StoredManifest {
  digest: string;
  mediaType: string;
  size: number;
}

export interface ManifestWithBody extends StoredManifest {
  body: Uint8Array;
}

export interface PutManifestInput {
  name: string;
  /** Tags to point at the manifest (from the path and `?tag=`); empty for a push by digest. */
  tags: string[];
  /** The digest in the path, when pushed by digest. */
  digest?: string;
  body: Uint8Array;
  contentType: string | undefined;
}

export class Manifests {
  private readonly catalog: Catalog;
  private readonly blobs: Blobs;
  private readonly immutability: TagImmutability;

  constructor(private readonly deps: RegistryDeps) {
    this.catalog = new Catalog(deps);
    this.blobs = new Blobs(deps);
    this.immutability = new TagImmutability(deps);
  }

  async put(input: PutManifestInput): Promise<StoredManifest & { subject?: string }> {
    const { name, body } = input;
    if (body.byteLength > MAX_MANIFEST_BYTES) {
      throw new RegistryError(codes.SIZE_INVALID, { status: 413, message: `manifest exceeds ${MAX_MANIFEST_BYTES} bytes` });
    }
    const algorithm: DigestAlgorithm = input.digest?.startsWith('sha512:') ? 'sha512' : 'sha256';
    const digest = digestOf(body, algorithm);
    if (input.digest !== undefined && input.digest !== digest) {
      throw new RegistryError(codes.DIGEST_INVALID, { detail: { expected: input.digest, computed: digest } });
    }
    const parsed = parseManifest(body, input.contentType);
    if (!parsed.ok) {
      throw parsed.unsupported
        ? new RegistryError(codes.MANIFEST_INVALID, { message: parsed.reason, detail: { reason: 'unsupported' } })
        : new RegistryError(codes.MANIFEST_INVALID, { message: parsed.reason });
    }
    const manifest = parsed.value;
    const immutable = input.tags.length > 0 ? await this.immutability.checker(name) : undefined;
    // Refused before anything is written; the conditional TAG write below is what enforces it.
    for (const tag of input.tags) if (immutable?.(tag)) await this.checkImmutableTag(name, tag, digest);
    await this.stampReferences(name, manifest);

    const { table, objects, settings, now } = this.deps;
    const at = now();
    const attrs: Attributes = {
      mediaType: manifest.mediaType,
      size: body.byteLength,
      blobs: manifest.blobs,
      manifests: manifest.manifests,
      createdAt: at,
      lastRef: at,
    };
    if (manifest.subject) attrs.subject = manifest.subject.digest;
    if (manifest.artifactType) attrs.artifactType = manifest.artifactType;
    // No copy of the annotations here: nothing reads them from this item (the referrers API has
    // its own), and beside an inline body or alone they can take an item past DynamoDB's 400 KB.
    if (body.byteLength > settings.inlineManifestMax) {
      // Stored as a blob (bytes under a fresh key, then indexed by digest), never at a key derived
      // from the digest: a re-push then cannot rewrite bytes an online GC is deleting, and GC
      // collects the body like any blob once no manifest reaches it.
      const key = keys.blobObject(randomUUID());
      await objects.put(key, body, { size: body.byteLength });
      attrs.key = (await this.blobs.commit(digest, key, body.byteLength)).key;
    } else {
      attrs.body = body;
    }
    await this.catalog.add(name);
    const item = keys.manifest(name, digest);
    await table.put({ pk: item.pk, sk: item.sk, attrs });

    if (manifest.subject) {
      const descriptor: Descriptor = { mediaType: manifest.mediaType, digest, size: body.byteLength };
      if (manifest.artifactType) descriptor.artifactType = manifest.artifactType;
      if (manifest.annotations) descriptor.annotations = manifest.annotations;
      const ref = keys.referrer(name, manifest.subject.digest, digest);
      // lastRef lets GC drop a referrer entry left by a swept manifest without racing a re-push.
      await table.put({ pk: ref.pk, sk: ref.sk, attrs: { descriptor: referrerDescriptor(descriptor) as unknown as Attributes, lastRef: at } });
    }
    for (const tag of input.tags) {
      const t = keys.tag(name, tag);
      const tagAttrs: Attributes = { digest, mediaType: manifest.mediaType, size: body.byteLength, pushedAt: now() };
      if (immutable?.(tag)) await this.putImmutableTag(name, tag, tagAttrs);
      else await table.put({ pk: t.pk, sk: t.sk, attrs: tagAttrs });
    }
    return { digest, mediaType: manifest.mediaType, size: body.byteLength, subject: manifest.subject?.digest };
  }

  /** An immutable tag may be created, or re-pushed with the digest it has; never moved. */
  private async checkImmutableTag(name: string, tag: string, digest: string): Promise<void> {
    const { pk, sk } = keys.tag(name, tag);
    const current = await this.deps.table.get(pk, sk);
    if (current && current.attrs.digest !== digest) throw immutableTagError(name, tag, 'moved');
  }

  /** The TAG write of an immutable tag: created if absent, else only where it has this digest. */
  private async putImmutableTag(name: string, tag: string, attrs: Attributes): Promise<void> {
    const { table } = this.deps;
    const { pk, sk } = keys.tag(name, tag);
    try {
      return await table.put({ pk, sk, attrs }, { kind: 'absent' });
    } catch (error) {
      if (!(error instanceof ConditionFailedError)) throw error;
    }
    try {
      await table.update(pk, sk, attrs, { kind: 'equals', attr: 'digest', value: attrs.digest as string });
    } catch (error) {
      if (error instanceof ConditionFailedError) throw immutableTagError(name, tag, 'moved');
      throw error;
    }
  }

  /**
   * Every referenced blob must be linked here and every child manifest stored here. Stamping
   * `lastRef` doubles as the existence check: the conditional update fails if GC removed it.
   */
  private async stampReferences(name: string, manifest: ParsedManifest): Promise<void> {
    const { table, now } = this.deps;
    const at = now();
    const missing: string[] = [];
    const stamp = async (pk: string, sk: string, digest: string) => {
      try {
        await table.update(pk, sk, { lastRef: at }, { kind: 'exists' });
      } catch (error) {
        if (!(error instanceof ConditionFailedError)) throw error;
        missing.push(digest);
      }
    };
    await Promise.all([
      ...manifest.blobs.map(async (digest) => {
        const link = keys.link(name, digest);
        if (!(await table.get(link.pk, link.sk))) return void missing.push(digest);
        const blob = keys.blob(digest);
        await stamp(blob.pk, blob.sk, digest);
      }),
      ...manifest.manifests.map(async (digest) => {
        const child = keys.manifest(name, digest);
        await stamp(child.pk, child.sk, digest);
      }),
    ]);
    if (missing.length > 0) {
      // Name the first hundred: a hostile manifest with 20,000 unknown layers must not get a 1.5 MB answer.
      const sorted = missing.sort();
      throw new RegistryError(codes.MANIFEST_BLOB_UNKNOWN, { detail: { missing: sorted.slice(0, 100), count: sorted.length } });
    }
  }

  /** Resolves a tag or digest to the stored manifest, without its body. */
  async stat(name: string, reference: string): Promise<StoredManifest | undefined> {
    const { table } = this.deps;
    if (reference.includes(':')) {
      const { pk, sk } = keys.manifest(name, reference);
      const item = await table.get(pk, sk);
      return item ? toStored(reference, item) : undefined;
    }
    const { pk, sk } = keys.tag(name, reference);
    const tag = await table.get(pk, sk);
    if (!tag) return undefined;
    return { digest: tag.attrs.digest as string, mediaType: tag.attrs.mediaType as string, size: tag.attrs.size as number };
  }

  async get(name: string, reference: string): Promise<ManifestWithBody | undefined> {
    const { table, objects } = this.deps;
    let digest = reference;
    if (!reference.includes(':')) {
      const tag = keys.tag(name, reference);
      const tagItem = await table.get(tag.pk, tag.sk);
      if (!tagItem) return undefined;
      digest = tagItem.attrs.digest as string;
    }
    const { pk, sk } = keys.manifest(name, digest);
    const item = await table.get(pk, sk);
    if (!item) return undefined;
    let body = item.attrs.body as Uint8Array | undefined;
    if (body === undefined) {
      const stream = await objects.get(item.attrs.key as string);
      if (!stream) return undefined;
      body = await collect(stream);
    }
    return { ...toStored(digest, item), body };
  }

  /**
   * Deletes a manifest by digest: first the tags that point at it (so no tag dangles), then its
   * referrer entry, then the manifest item. Its blobs stay until GC.
   */
  async delete(name: string, digest: string): Promise<boolean> {
    const { table } = this.deps;
    const { pk, sk } = keys.manifest(name, digest);
    const item = await table.get(pk, sk);
    if (!item) return false;
    const immutable = await this.immutability.checker(name);
    if (immutable) {
      for await (const tag of allItems(this.deps.table, keys.repo(name), { prefix: keys.tagPrefix })) {
        const tagName = tag.sk.slice(keys.tagPrefix.length);
        if (tag.attrs.digest === digest && immutable(tagName)) throw immutableTagError(name, tagName, 'deleted');
      }
    }
    for await (const tag of allItems(this.deps.table, keys.repo(name), { prefix: keys.tagPrefix })) {
      if (tag.attrs.digest === digest) await table.delete(tag.pk, tag.sk, { kind: 'equals', attr: 'digest', value: digest });
    }
    if (typeof item.attrs.subject === 'string') {
      const ref = keys.referrer(name, item.attrs.subject, digest);
      await table.delete(ref.pk, ref.sk);
    }
    await table.delete(pk, sk);
    return true;
  }

  async deleteTag(name: string, tag: string): Promise<boolean> {
    const { pk, sk } = keys.tag(name, tag);
    const existed = (await this.deps.table.get(pk, sk)) !== undefined;
    if (existed && (await this.immutability.checker(name))?.(tag)) throw immutableTagError(name, tag, 'deleted');
    await this.deps.table.delete(pk, sk);
    return existed;
  }

  async referrers(name: string, subject: string, artifactType: string | undefined): Promise<Descriptor[]> {
    const out: Descriptor[] = [];
    for await (const item of allItems(this.deps.table, keys.repo(name), { prefix: keys.referrerPrefix(subject) })) {
      const descriptor = item.attrs.descriptor as unknown as Descriptor;
      if (artifactType === undefined || descriptor.artifactType === artifactType) out.push(descriptor);
    }
    return out;
  }

}

function toStored(digest: string, item: Item): StoredManifest {
  return { digest, mediaType: item.attrs.mediaType as string, size: item.attrs.size as number };
}

