/**
 * The one key schema. Only this module builds table keys and object keys.
 *
 * Table (partition key / sort key → attributes):
 *
 *   BLOB#<digest>  / BLOB                  → key, size, createdAt, lastRef         one per stored blob
 *   BLOB#<digest>  / REPO#<name>           → linkedAt                              reverse link (mount without `from`, GC)
 *   REPO#<name>    / LINK#<digest>         → linkedAt                              the blob is visible in <name>
 *   REPO#<name>    / MANIFEST#<digest>     → mediaType, size, body | key, blobs, manifests, subject, artifactType, lastRef
 *   REPO#<name>    / TAG#<tag>             → digest, mediaType, size, pushedAt     (denormalised: HEAD by tag is one read)
 *   REPO#<name>    / REFERRER#<subject>#<digest> → descriptor                      the referrers API
 *   UPLOAD#<uuid>  / SESSION               → repo, key, multipartId, offset, nextPart, hashState, writer, expiresAt, version
 *   UPLOAD#<uuid>  / PART#<n, 5 digits>    → etag, size                            one item per part (10,000 would not fit one item)
 *   UPLOAD#<uuid>  / STAGE#<offset, 16 digits> → key, size                         a chunk too small to be a part yet
 *   CATALOG        / <name>                → createdAt                             the repository list, paged
 *
 * Policies and garbage collection (core/registry/policies, core/registry/gc):
 *
 *   RETENTION      / PROJECT#<p> | REPO#<name> → keepLast, keepTags, untaggedDays, updatedAt   a repository's rule wins over its project's
 *   IMMUTABILITY   / <project>             → immutable, except, updatedAt          tag globs that may not be moved or deleted
 *   GC#<run>#<shard, 1 hex> / B#<digest>   → (none)                               mark: the blob is reachable
 *   GC#<run>#<shard> / M#<name>@<digest>   → (none)                               mark: the manifest is reachable in <name>
 *   GC#<run>#<shard> / R#<name>@<pushedAt, inverted, 13 digits>#<tag> → digest, pushedAt   tags ranked newest first (keep last N)
 *   GC             / RUN#<run>             → markStart, dryRun                     a run in progress (its marks are removed when it ends)
 *   GC             / ORPHAN#<object key>   → seenAt                                an object first seen unreferenced; deleted a grace period later
 *
 * Replication (core/replication):
 *
 *   REPLICATION    / RULE#<name>           → direction, remote, filters, triggers, paused, secret, updatedAt   rules, read on every trigger
 *   REPLICATION#<rule> / STATUS            → lastRun, totals, failures, lags, version   what `cirrus replication status` shows
 *   REPLICATION#<rule> / UPLOAD#<repo>@<digest> → location, startedAt               a blob upload open at the destination, resumed from its offset
 *
 * Access control (core/auth):
 *
 *   IDENTITIES     / <name>                → kind, secretHash, epoch, disabled, expiresAt, createdAt, createdBy
 *                                                                                  users and robots (robot$<name>), listed by one query
 *   PROJECTS       / <project>             → anonymousPull, createdAt              the project list
 *   PROJECT#<p>    / MEMBER#<name>         → role, addedAt                         who may do what in <p> (one read per scope)
 *   IDENTITY#<name> / PROJECT#<p>          → role                                  reverse of the above: the catalog filter
 *   THROTTLE#<who> / LOGIN                 → failures, windowStart, version, ttl   failed logins per account / per address
 *   AUDIT          / <day, inverted, 6 digits> → day                               the days that have events, newest first
 *   AUDIT#<yyyy-mm-dd> / <ms, inverted, 13 digits>#<id> → who, action, repository, digest, result, source, …
 *                                                                                  one partition per day, newest first
 *
 * Objects:
 *
 *   blobs/<uuid>                 blob bytes, under a key chosen when the upload starts; never copied
 *   staging/<uuid>/<offset>      small chunks until they add up to a part
 *   manifests/<alg>/<hex>        manifest bodies too large to keep inline in their item (before GC; now stored as blobs/<uuid>)
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
  referrersPrefix: 'REFERRER#',

  upload: (uuid: string) => ({ pk: `UPLOAD#${uuid}`, sk: 'SESSION' }),
  uploadPartition: (uuid: string) => `UPLOAD#${uuid}`,
  uploadPartitionPrefix: 'UPLOAD#',
  part: (uuid: string, partNumber: number) => ({ pk: `UPLOAD#${uuid}`, sk: `PART#${String(partNumber).padStart(5, '0')}` }),
  partPrefix: 'PART#',
  stage: (uuid: string, offset: number) => ({ pk: `UPLOAD#${uuid}`, sk: `STAGE#${String(offset).padStart(16, '0')}` }),
  stagePrefix: 'STAGE#',

  catalog: (name: string) => ({ pk: 'CATALOG', sk: name }),
  catalogPartition: 'CATALOG',

  identity: (name: string) => ({ pk: 'IDENTITIES', sk: name }),
  identityPartition: 'IDENTITIES',
  project: (project: string) => ({ pk: 'PROJECTS', sk: project }),
  projectPartition: 'PROJECTS',
  member: (project: string, name: string) => ({ pk: `PROJECT#${project}`, sk: `MEMBER#${name}` }),
  memberPartition: (project: string) => `PROJECT#${project}`,
  memberPrefix: 'MEMBER#',
  membership: (name: string, project: string) => ({ pk: `IDENTITY#${name}`, sk: `PROJECT#${project}` }),
  membershipPartition: (name: string) => `IDENTITY#${name}`,
  membershipPrefix: 'PROJECT#',
  throttle: (who: string) => ({ pk: `THROTTLE#${who}`, sk: 'LOGIN' }),
  auditDay: (dayNumber: number) => ({ pk: 'AUDIT', sk: String(AUDIT_MAX_DAY - dayNumber).padStart(6, '0') }),
  auditDayPartition: 'AUDIT',
  auditEvent: (ms: number, id: string) => ({
    pk: auditPartition(Math.floor(ms / 86_400_000)),
    sk: `${String(AUDIT_MAX_MS - ms).padStart(13, '0')}#${id}`,
  }),
  auditPartition: (dayNumber: number) => auditPartition(dayNumber),
  /** The day number an `auditDay` sort key stands for. */
  auditDayOf: (sk: string) => AUDIT_MAX_DAY - Number(sk),

  blobObject: (uuid: string) => `blobs/${uuid}`,
  stagedObject: (uuid: string, offset: number) => `staging/${uuid}/${String(offset).padStart(16, '0')}`,
  manifestObject: (digest: string) => `manifests/${digest.replace(':', '/')}`,
  blobObjectPrefix: 'blobs/',
  stagedObjectPrefix: 'staging/',
  stagedObjectsOf: (uuid: string) => `staging/${uuid}/`,
  /** The upload a `blobs/<uuid>` or `staging/<uuid>/…` object was written by. */
  uploadOfObject: (key: string): string | undefined => /^(?:blobs|staging)\/([0-9a-f-]{36})(?:\/|$)/.exec(key)?.[1],

  retention: (scope: { project: string } | { repository: string }) => ({
    pk: 'RETENTION',
    sk: 'project' in scope ? `PROJECT#${scope.project}` : `REPO#${scope.repository}`,
  }),
  retentionPartition: 'RETENTION',
  immutability: (project: string) => ({ pk: 'IMMUTABILITY', sk: project }),
  immutabilityPartition: 'IMMUTABILITY',

  /** Mark items spread over 16 partitions, so a large run does not heat one DynamoDB partition. */
  gcShards: (runId: string) => Array.from({ length: GC_SHARDS }, (_, i) => `GC#${runId}#${i.toString(16)}`),
  gcBlobMark: (runId: string, digest: string) => gcItem(runId, `B#${digest}`),
  gcManifestMark: (runId: string, name: string, digest: string) => gcItem(runId, `M#${name}@${digest}`),
  gcRank: (runId: string, name: string, pushedAt: number, tag: string) =>
    ({ pk: gcShard(runId, `R#${name}@`), sk: `R#${name}@${String(GC_MAX_MS - pushedAt).padStart(13, '0')}#${tag}` }),
  /** All rank items of one repository live in one shard, so one query reads them in order. */
  gcRankPartition: (runId: string, name: string) => gcShard(runId, `R#${name}@`),
  gcRankPrefix: (name: string) => `R#${name}@`,
  /** The tag a `gcRank` sort key ranks. */
  gcRankTag: (sk: string) => sk.slice(sk.indexOf('#', sk.indexOf('@')) + 1),
  gcPartition: 'GC',
  gcRun: (runId: string) => ({ pk: 'GC', sk: `RUN#${runId}` }),
  gcRunPrefix: 'RUN#',
  orphan: (objectKey: string) => ({ pk: 'GC', sk: `ORPHAN#${objectKey}` }),
  orphanPrefix: 'ORPHAN#',

  replicationRule: (name: string) => ({ pk: 'REPLICATION', sk: `RULE#${name}` }),
  replicationRulePartition: 'REPLICATION',
  replicationRulePrefix: 'RULE#',
  replicationStatus: (rule: string) => ({ pk: `REPLICATION#${rule}`, sk: 'STATUS' }),
  replicationUpload: (rule: string, repository: string, digest: string) => ({ pk: `REPLICATION#${rule}`, sk: `UPLOAD#${repository}@${digest}` }),
  replicationPartition: (rule: string) => `REPLICATION#${rule}`,

  /** What a write to a repository item is about (tags and manifests), for change streams; undefined for any other item. */
  repositoryItemOf: (pk: string, sk: string): { repository: string; kind: 'tag' | 'manifest'; id: string } | undefined => {
    if (!pk.startsWith('REPO#')) return undefined;
    const repository = pk.slice('REPO#'.length);
    if (sk.startsWith('TAG#')) return { repository, kind: 'tag', id: sk.slice('TAG#'.length) };
    if (sk.startsWith('MANIFEST#')) return { repository, kind: 'manifest', id: sk.slice('MANIFEST#'.length) };
    return undefined;
  },
};

const GC_SHARDS = 16;
// Pushed-at times inverted so that an ascending query ranks the newest tag first.
const GC_MAX_MS = 9_999_999_999_999;

function gcItem(runId: string, sk: string): { pk: string; sk: string } {
  return { pk: gcShard(runId, sk), sk };
}

/** FNV-1a over the sort key: stable, cheap, and even enough for 16 shards. */
function gcShard(runId: string, sk: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < sk.length; i++) h = Math.imul(h ^ sk.charCodeAt(i), 0x01000193);
  return `GC#${runId}#${((h >>> 0) % GC_SHARDS).toString(16)}`;
}

// Inverted so that an ascending query reads newest first: 13 digits of ms last until the year 2286.
const AUDIT_MAX_MS = 9_999_999_999_999;
const AUDIT_MAX_DAY = 999_999;

function auditPartition(dayNumber: number): string {
  return `AUDIT#${new Date(dayNumber * 86_400_000).toISOString().slice(0, 10)}`;
}

/** The part of a sort key after its prefix (e.g. the tag in TAG#<tag>). */
export function afterPrefix(sk: string, prefix: string): string {
  return sk.slice(prefix.length);
}
