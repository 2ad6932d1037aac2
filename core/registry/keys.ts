/**
 * The one key schema. Only this module builds table keys and object keys.
 *
 * Table (partition key / sort key → attributes):
 *
 *   BLOB#<digest>  / BLOB                  → key, size, createdAt, lastRef         one per stored blob
 *   BLOB#<digest>  / REPO#<name>           → linkedAt                              reverse link (mount without `from`, GC)
 *   REPO#<name>    / LINK#<digest>         → linkedAt                              the blob is visible in <name>
 *   REPO#<name>    / MANIFEST#<digest>     → mediaType, size, body | key, blobs, manifests, subject, artifactType, annotations, lastRef
 *   REPO#<name>    / TAG#<tag>             → digest, mediaType, size, pushedAt     (denormalised: HEAD by tag is one read)
 *   REPO#<name>    / REFERRER#<subject>#<digest> → descriptor                      the referrers API
 *   UPLOAD#<uuid>  / SESSION               → repo, key, multipartId, offset, nextPart, hashState, writer, expiresAt, version
 *   UPLOAD#<uuid>  / PART#<n, 5 digits>    → etag, size                            one item per part (10,000 would not fit one item)
 *   UPLOAD#<uuid>  / STAGE#<offset, 16 digits> → key, size                         a chunk too small to be a part yet
 *   CATALOG        / <name>                → createdAt                             the repository list, paged
 *
 * Objects:
 *
 *   blobs/<uuid>                 blob bytes, under a key chosen when the upload starts; never copied
 *   staging/<uuid>/<offset>      small chunks until they add up to a part
 *   manifests/<alg>/<hex>        manifest bodies too large to keep inline in their item
 */

export const keys = {
  blob: (digest: string) => ({ pk: `BLOB#${digest}`, sk: 'BLOB' }),
  blobRepo: (digest: string, name: string) => ({ pk: `BLOB#${digest}`, sk: `REPO#${name}` }),
  blobRepoPrefix: 'REPO#',
  blobPartitionPrefix: 'BLOB#',

  repo: (name: string) => `REPO#${name}`,
  link: (name: string, digest: string) => ({ pk: `REPO#${name}`, sk: `LINK#${digest}` }),
  linkPrefix: 'LINK#',
  manifest: (name: string, digest: string) => ({ pk: `REPO#${name}`, sk: `MANIFEST#${digest}` }),
  manifestPrefix: 'MANIFEST#',
  tag: (name: string, tag: string) => ({ pk: `REPO#${name}`, sk: `TAG#${tag}` }),
  tagPrefix: 'TAG#',
  referrer: (name: string, subject: string, digest: string) => ({ pk: `REPO#${name}`, sk: `REFERRER#${subject}#${digest}` }),
  referrerPrefix: (subject: string) => `REFERRER#${subject}#`,

  upload: (uuid: string) => ({ pk: `UPLOAD#${uuid}`, sk: 'SESSION' }),
  uploadPartition: (uuid: string) => `UPLOAD#${uuid}`,
  uploadPartitionPrefix: 'UPLOAD#',
  part: (uuid: string, partNumber: number) => ({ pk: `UPLOAD#${uuid}`, sk: `PART#${String(partNumber).padStart(5, '0')}` }),
  partPrefix: 'PART#',
  stage: (uuid: string, offset: number) => ({ pk: `UPLOAD#${uuid}`, sk: `STAGE#${String(offset).padStart(16, '0')}` }),
  stagePrefix: 'STAGE#',

  catalog: (name: string) => ({ pk: 'CATALOG', sk: name }),
  catalogPartition: 'CATALOG',

  blobObject: (uuid: string) => `blobs/${uuid}`,
  stagedObject: (uuid: string, offset: number) => `staging/${uuid}/${String(offset).padStart(16, '0')}`,
  manifestObject: (digest: string) => `manifests/${digest.replace(':', '/')}`,
};

/** The part of a sort key after its prefix (e.g. the tag in TAG#<tag>). */
export function afterPrefix(sk: string, prefix: string): string {
  return sk.slice(prefix.length);
}
