// What must hold after any crash (DESIGN §2): no tag points at a missing manifest, every manifest's
// blobs and child manifests exist, acknowledged pushes survive. Checked through the API as a client
// sees it, and in the SQLite index file itself (read-only, beside the running host). Garbage —
// orphan objects, upload sessions, catalog entries without tags — is allowed.
import { expect } from 'vitest';
import type { Attributes } from '../../core/ports/index.ts';
import { allItems } from '../../core/registry/paging.ts';
import { openHostStore } from '../support/test-stores.ts';
import { expectOciError, sha256, withDeadline } from './support.ts';

export interface Ack {
  repo: string;
  digest: string;
  tags: string[];
}

const ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

interface ManifestDoc {
  config?: { digest: string };
  layers?: Array<{ digest: string }>;
  manifests?: Array<{ digest: string }>;
}

const get = (url: string, init: RequestInit = {}) => withDeadline(fetch(url, { ...init, headers: { Accept: ACCEPT }, redirect: 'manual' }));

/** Every page of a paged listing (`Link: <…>; rel="next"`). */
async function listAll(base: string, path: string, key: string): Promise<string[]> {
  const out: string[] = [];
  let next: string | undefined = `${base}${path}?n=100`;
  while (next) {
    const res = await get(next);
    expect(res.status, path).toBe(200);
    out.push(...((await res.json()) as Record<string, string[]>)[key]!);
    const link = /<([^>]+)>;\s*rel="next"/.exec(res.headers.get('link') ?? '');
    next = link ? new URL(link[1]!, base).toString() : undefined;
  }
  return out;
}

export async function checkThroughApi(base: string, expected: { acks: Ack[]; absentTags: Array<{ repo: string; tag: string }> }): Promise<void> {
  const checked = new Set<string>();
  /** The manifest's bytes match its digest, and everything it references can be fetched. */
  const checkManifest = async (repo: string, reference: string, why: string): Promise<string> => {
    const res = await get(`${base}/v2/${repo}/manifests/${reference}`);
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(res.status, `${why}: ${repo}:${reference} → ${bytes.toString().slice(0, 200)}`).toBe(200);
    const digest = res.headers.get('docker-content-digest')!;
    expect(sha256(bytes), `${repo}:${reference}`).toBe(digest);
    if (checked.has(`${repo}@${digest}`)) return digest;
    checked.add(`${repo}@${digest}`);
    const doc = JSON.parse(bytes.toString()) as ManifestDoc;
    for (const blob of [doc.config, ...(doc.layers ?? [])].filter((b) => b !== undefined)) {
      if (checked.has(`${repo}@${blob.digest}`)) continue;
      const head = await get(`${base}/v2/${repo}/blobs/${blob.digest}`, { method: 'HEAD' });
      expect(head.status, `${repo}:${reference} references blob ${blob.digest}`).toBe(200);
      checked.add(`${repo}@${blob.digest}`);
    }
    for (const child of doc.manifests ?? []) await checkManifest(repo, child.digest, `child of ${repo}:${reference}`);
    return digest;
  };

  for (const repo of await listAll(base, '/v2/_catalog', 'repositories')) {
    const tags = await listAll(base, `/v2/${repo}/tags/list`, 'tags');
    await inBatches(tags, (tag) => checkManifest(repo, tag, 'tag'));
  }
  await inBatches(expected.acks, async (ack) => {
    await checkManifest(ack.repo, ack.digest, 'acknowledged push');
    for (const tag of ack.tags) expect(await checkManifest(ack.repo, tag, 'acknowledged tag')).toBe(ack.digest);
  });
  for (const { repo, tag } of expected.absentTags) {
    await expectOciError(await get(`${base}/v2/${repo}/manifests/${tag}`), 404, 'MANIFEST_UNKNOWN');
  }
}

async function inBatches<T>(items: T[], work: (item: T) => Promise<unknown>, size = 8): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(work));
}

/**
 * The same invariants read straight from the host's store (the SQLite index and the files, or the
 * DynamoDB table and the S3 bucket), down to the objects items name.
 */
export async function checkIndex(dataDir: string): Promise<void> {
  const store = await openHostStore(dataDir);
  try {
    const rows: Array<{ pk: string; sk: string }> = [];
    const items = new Map<string, Attributes>();
    for (const prefix of ['REPO#', 'BLOB#']) {
      let after: string | undefined;
      do {
        const page = await store.table.scanPartitions!(prefix, after === undefined ? {} : { after });
        for (const pk of page.keys) {
          for await (const item of allItems(store.table, pk)) {
            rows.push({ pk: item.pk, sk: item.sk });
            items.set(`${item.pk}|${item.sk}`, item.attrs);
          }
        }
        after = page.next;
      } while (after !== undefined);
    }
    const has = (pk: string, sk: string) => items.has(`${pk}|${sk}`);
    const objectKeys = new Set<string>();
    for (const { pk, sk } of rows) {
      const attrs = items.get(`${pk}|${sk}`)!;
      if ((pk.startsWith('BLOB#') && sk === 'BLOB') || (pk.startsWith('REPO#') && sk.startsWith('MANIFEST#') && attrs.key !== undefined)) {
        objectKeys.add(String(attrs.key));
      }
    }
    const present = new Set<string>();
    await Promise.all([...objectKeys].map(async (key) => (await store.objects.head(key)) && present.add(key)));
    const object = (key: unknown) => present.has(String(key));
    const problems: string[] = [];
    for (const { pk, sk } of rows) {
      const attrs = items.get(`${pk}|${sk}`)!;
      if (pk.startsWith('BLOB#') && sk === 'BLOB' && !object(attrs.key)) problems.push(`${pk} names a missing object ${String(attrs.key)}`);
      if (!pk.startsWith('REPO#')) continue;
      if (sk.startsWith('TAG#') && !has(pk, `MANIFEST#${String(attrs.digest)}`)) problems.push(`${pk} ${sk} → missing manifest ${String(attrs.digest)}`);
      if (sk.startsWith('LINK#') && !has(`BLOB#${sk.slice(5)}`, 'BLOB')) problems.push(`${pk} ${sk} → missing blob`);
      if (!sk.startsWith('MANIFEST#')) continue;
      if (attrs.key !== undefined && !object(attrs.key)) problems.push(`${pk} ${sk} names a missing object ${String(attrs.key)}`);
      for (const digest of (attrs.blobs as string[] | undefined) ?? []) {
        if (!has(pk, `LINK#${digest}`) || !has(`BLOB#${digest}`, 'BLOB')) problems.push(`${pk} ${sk} → missing blob ${digest}`);
      }
      for (const digest of (attrs.manifests as string[] | undefined) ?? []) {
        if (!has(pk, `MANIFEST#${digest}`)) problems.push(`${pk} ${sk} → missing child manifest ${digest}`);
      }
    }
    expect(problems).toEqual([]);
  } finally {
    await store.close();
  }
}
