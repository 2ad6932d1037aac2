// `npx cirrus gc|retention|immutability` against the data dir of a running local host: GC runs
// (the checked-in state machine) in its own process next to the server, which keeps taking
// pushes; policies set from the CLI take effect on the server at once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaType } from '../../core/oci/index.ts';
import type { GcResult } from '../../core/registry/gc/index.ts';
import { expectError, fetchTransport, RegistryClient, sha256 } from '../support/app.ts';
import { startLocalHost, type RunningRegistry } from '../support/local-host.ts';
import { imageOf, layer, pushImage, type Image } from './support/content.ts';
import { spawnCirrus } from '../support/cirrus-cli.ts';

let host: RunningRegistry;
let client: RegistryClient;

beforeAll(async () => {
  host = await startLocalHost({ env: { CIRRUS_BACKEND: 'embedded', CIRRUS_LOG_REQUESTS: '0' } });
  client = new RegistryClient(fetchTransport(host.url));
});
afterAll(() => host?.stop());

async function cirrus(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return spawnCirrus(host.dataDir, args).done;
}

async function gc(...args: string[]): Promise<GcResult> {
  const run = await cirrus('gc', '--json', ...args);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as GcResult;
}

async function expectPulled(image: Image, reference: string): Promise<void> {
  const res = await client.get(`/v2/${image.name}/manifests/${reference}`, { Accept: MediaType.ociManifest });
  expect(res.status, `${image.name}:${reference}`).toBe(200);
  expect(sha256(new Uint8Array(await res.arrayBuffer()))).toBe(image.digest);
  for (const blob of [image.config, ...image.layers]) {
    const redirect = await client.get(`/v2/${image.name}/blobs/${sha256(blob)}`);
    expect(redirect.status).toBe(307);
    const bytes = await fetch(new URL(redirect.headers.get('location') as string, host.url));
    expect(sha256(new Uint8Array(await bytes.arrayBuffer()))).toBe(sha256(blob));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('cirrus gc next to a running server', () => {
  it('a dry run reports, a real run collects, while pushes go on', async () => {
    const kept = imageOf('cli/app', [layer(), layer()]);
    expect((await pushImage(client, kept, 'v1')).status).toBe(201);
    const dropped = imageOf('cli/app', [layer()]);
    expect((await pushImage(client, dropped, 'v2')).status).toBe(201);
    const replacement = imageOf('cli/app', [layer()]);
    expect((await pushImage(client, replacement, 'v2')).status).toBe(201);
    await sleep(1500);

    const dry = await gc('--dry-run', '--grace-period', '1s');
    expect(dry.dryRun).toBe(true);
    expect(dry.report.examples.manifests).toEqual([`cli/app@${dropped.digest}`]);
    expect(dry.bytesFreed).toBe(dropped.bytes.byteLength + dropped.config.byteLength + (dropped.layers[0] as Uint8Array).byteLength);
    await expectPulled(dropped, dropped.digest);

    // Pushes keep coming while GC runs in its own process over the same SQLite file.
    const pushed: Array<[string, Image]> = [];
    let running = true;
    const pushing = (async () => {
      for (let i = 0; running || i < 3; i++) {
        const image = imageOf('cli/busy', [layer(), ...(i % 2 ? [kept.layers[0] as Uint8Array] : [])]);
        const res = await pushImage(client, image, `t${i}`, { onlyMissing: true });
        expect(res.status, await res.clone().text()).toBe(201);
        pushed.push([`t${i}`, image]);
      }
    })();
    const real = await gc('--grace-period', '1s');
    running = false;
    await pushing;
    expect(real.report.deleted.manifests.count).toBe(1);
    expect(real.bytesFreed).toBe(dry.bytesFreed);
    expect((await client.get(`/v2/cli/app/manifests/${dropped.digest}`, { Accept: MediaType.ociManifest })).status).toBe(404);
    await expectPulled(kept, 'v1');
    await expectPulled(replacement, 'v2');
    expect(pushed.length).toBeGreaterThan(2);
    for (const [tag, image] of pushed) await expectPulled(image, tag);
  });

  it('retention set from the CLI: GC keeps the last N tags', async () => {
    const images: Image[] = [];
    for (const tag of ['a', 'b', 'c']) {
      const image = imageOf('cli/ret', [layer()]);
      expect((await pushImage(client, image, tag)).status).toBe(201);
      images.push(image);
      await sleep(5);
    }
    const set = await cirrus('retention', 'set', '--repository', 'cli/ret', '--keep-last', '1');
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toMatch(/keep the last 1 tags/);
    const listed = await cirrus('retention', 'list', '--json');
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ scope: { repository: 'cli/ret' }, keepLast: 1 })]);
    const result = await gc('--grace-period', '1h');
    expect(result.report.examples.tags.sort()).toEqual(['cli/ret:a', 'cli/ret:b']);
    const tags = (await (await client.get('/v2/cli/ret/tags/list')).json()) as { tags: string[] };
    expect(tags.tags).toEqual(['c']);
    // Within the grace period the untagged manifests stay.
    await expectPulled(images[0] as Image, (images[0] as Image).digest);
    expect((await cirrus('retention', 'clear', '--repository', 'cli/ret')).code).toBe(0);
  });

  it('immutability set from the CLI: the server refuses to move the tag at once', async () => {
    const set = await cirrus('immutability', 'set', 'locked', '--except', 'latest');
    expect(set.code, set.stderr).toBe(0);
    expect((await pushImage(client, imageOf('locked/app', [layer()]), 'v1')).status).toBe(201);
    await expectError(await pushImage(client, imageOf('locked/app', [layer()]), 'v1'), 403, 'DENIED');
    expect((await pushImage(client, imageOf('locked/app', [layer()]), 'latest')).status).toBe(201);
    expect((await pushImage(client, imageOf('locked/app', [layer()]), 'latest')).status).toBe(201);
    expect((await cirrus('immutability', 'clear', 'locked')).code).toBe(0);
    expect((await pushImage(client, imageOf('locked/app', [layer()]), 'v1')).status).toBe(201);
  });

  it('refuses a malformed command line with exit code 2', async () => {
    const bad = await cirrus('gc', '--grace-period', 'soon');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--grace-period/);
    expect((await cirrus('retention', 'set', '--keep-last', '3')).code).toBe(2);
  });
});
