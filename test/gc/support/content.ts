// Images for GC tests: layers chosen by the test (so some are shared), pushed through the API.
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { MediaType } from '../../../core/oci/index.ts';
import type { Table } from '../../../core/ports/index.ts';
import { keys } from '../../../core/registry/index.ts';
import { CONFIG_TYPE, descriptorOf, LAYER_TYPE, manifestBytes, ociIndex, ociManifest, sha256, type RegistryClient } from '../../support/app.ts';
import { pullBlob, type RegistryOverStore, type Store } from './stores.ts';

export interface Image {
  name: string;
  digest: string;
  bytes: Uint8Array;
  config: Uint8Array;
  layers: Uint8Array[];
}

export function layer(size = 600): Uint8Array {
  return randomBytes(size);
}

export function imageOf(name: string, layers: Uint8Array[], extra: object = {}): Image {
  const config = new TextEncoder().encode(JSON.stringify({ architecture: 'amd64', os: 'linux', nonce: randomBytes(8).toString('hex') }));
  const bytes = manifestBytes(ociManifest(descriptorOf(CONFIG_TYPE, config), layers.map((l) => descriptorOf(LAYER_TYPE, l)), extra));
  return { name, digest: sha256(bytes), bytes, config, layers };
}

/** Uploads the image's blobs (all, or only those missing) and PUTs its manifest under `reference`. */
export async function pushImage(client: RegistryClient, image: Image, reference: string, options: { onlyMissing?: boolean } = {}): Promise<Response> {
  for (const blob of [image.config, ...image.layers]) {
    if (options.onlyMissing && (await client.head(`/v2/${image.name}/blobs/${sha256(blob)}`)).status === 200) continue;
    await client.pushBlob(image.name, blob);
  }
  return client.putManifest(image.name, reference, image.bytes, MediaType.ociManifest);
}

export async function push(client: RegistryClient, image: Image, reference: string): Promise<Image> {
  const res = await pushImage(client, image, reference);
  expect(res.status, await res.clone().text()).toBe(201);
  return image;
}

export function indexOf(name: string, children: Image[]): { name: string; digest: string; bytes: Uint8Array } {
  const bytes = manifestBytes(ociIndex(children.map((c) => ({ ...descriptorOf(MediaType.ociManifest, c.bytes), platform: { architecture: 'amd64', os: 'linux' } }))));
  return { name, digest: sha256(bytes), bytes };
}

/** The manifest and every blob it names can be pulled and match their digests. */
export async function expectPullable(r: RegistryOverStore, store: Store, image: Image, reference = image.digest): Promise<void> {
  const res = await r.client.get(`/v2/${image.name}/manifests/${reference}`, { Accept: MediaType.ociManifest });
  expect(res.status, `${image.name}:${reference}`).toBe(200);
  expect(sha256(new Uint8Array(await res.arrayBuffer()))).toBe(image.digest);
  for (const blob of [image.config, ...image.layers]) {
    const bytes = await pullBlob(r, store, image.name, sha256(blob));
    expect(bytes && sha256(bytes), `${image.name} blob ${sha256(blob)}`).toBe(sha256(blob));
  }
}

export async function blobIndexed(table: Table, digest: string): Promise<boolean> {
  const { pk, sk } = keys.blob(digest);
  return (await table.get(pk, sk)) !== undefined;
}

export async function manifestStored(table: Table, name: string, digest: string): Promise<boolean> {
  const { pk, sk } = keys.manifest(name, digest);
  return (await table.get(pk, sk)) !== undefined;
}

/** Every partition key under a prefix (a scan: tests only). */
export async function partitions(table: Table, prefix: string): Promise<string[]> {
  const out: string[] = [];
  let after: string | undefined;
  do {
    const page = await table.scanPartitions!(prefix, { after });
    out.push(...page.keys);
    after = page.next;
  } while (after !== undefined);
  return out.sort();
}

export async function allObjectKeys(store: Store, prefix: string): Promise<string[]> {
  const out: string[] = [];
  let after: string | undefined;
  do {
    const page = await store.objects.list(prefix, { after });
    out.push(...page.keys);
    after = page.next;
  } while (after !== undefined);
  return out.sort();
}
