// A replication killed in the middle of a large blob resumes: `cirrus replication run` is
// SIGKILLed while it streams a 96 MiB layer to another Cirrus host in chunks; the next run reads
// the upload's offset back from the destination (GET on the upload URL it checkpointed) and sends
// only the rest. (Distribution cannot resume an upload whose last PATCH was cut: its `_state`
// token then disagrees with the bytes it kept, and it refuses the session; the copy starts that
// blob over, which the engine tests cover.)
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireClients } from '../support/clients.ts';
import { buildImageLayout } from '../support/images.ts';
import { DistributionClient } from '../../core/replication/index.ts';
import { keys } from '../../core/registry/index.ts';
import { SqliteTable } from '../../core/storage/sqlite/sqlite-table.ts';
import { startLocalHost, type RunningRegistry } from '../support/local-host.ts';
import { skopeoCopy, skopeoInspectRaw } from '../support/skopeo.ts';
import { makeTempDir, removeTree } from '../support/tmp.ts';
import { spawnCirrus } from '../support/cirrus-cli.ts';

const MiB = 1 << 20;
const clients = requireClients(['skopeo', 'skopeo']);

const cirrus = (dataDir: string, args: string[]) => spawnCirrus(dataDir, args);

/** Bytes the destination holds for the upload the copier checkpointed in the source's table (read beside the running processes: WAL). */
async function uploadedBytes(sourceDir: string, destination: string, repo: string): Promise<number> {
  const table = new SqliteTable(join(sourceDir, 'index.db'));
  try {
    const page = await table.query(keys.replicationPartition('big'), { prefix: 'UPLOAD#' });
    const location = page.items[0]?.attrs.location;
    if (typeof location !== 'string') return 0;
    return (await new DistributionClient(destination).uploadOffset(repo, location)) ?? 0;
  } finally {
    await table.close();
  }
}

describe.skipIf(!clients.available)(`a replication killed mid-blob${clients.reason}`, () => {
  let source: RunningRegistry;
  let dest: RunningRegistry;
  let work: string;

  beforeAll(async () => {
    work = await makeTempDir('resume');
    const env = { CIRRUS_BACKEND: 'embedded', CIRRUS_LOG_REQUESTS: '0' };
    [source, dest] = await Promise.all([startLocalHost({ env }), startLocalHost({ env })]);
  }, 60_000);
  afterAll(async () => {
    await Promise.allSettled([source?.stop(), dest?.stop()]);
    if (work) await removeTree(work);
  });

  it('resumes from the destination’s upload offset and ends byte-identical', { timeout: 240_000 }, async () => {
    const image = await buildImageLayout({ dir: join(work, 'big'), tag: 'v1', layers: [{ size: 96 * MiB, seed: 4242 }] });
    await skopeoCopy(image.ref, `docker://${source.hostPort}/big/model:v1`, ['--preserve-digests']);
    const add = cirrus(source.dataDir, ['replication', 'add', 'big', '--to', dest.url, '--repos', 'big/*', '--no-on-push']);
    expect((await add.done).code).toBe(0);

    const first = cirrus(source.dataDir, ['--json', 'replication', 'run', 'big']);
    for (;;) {
      if ((await uploadedBytes(source.dataDir, dest.url, 'big/model')) >= 8 * MiB) break;
      if (first.child.exitCode !== null) throw new Error(`the run ended before it could be killed: ${(await first.done).stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    // Freeze the destination so the copier is caught mid-PATCH, kill the copier, thaw the destination.
    process.kill(dest.pid, 'SIGSTOP');
    first.child.kill('SIGKILL');
    expect((await first.done).signal).toBe('SIGKILL');
    process.kill(dest.pid, 'SIGCONT');
    // Nothing visible yet: no tag without its blobs.
    expect((await fetch(`${dest.url}/v2/big/model/manifests/v1`, { method: 'HEAD' })).status).toBe(404);

    const second = await cirrus(source.dataDir, ['--json', 'replication', 'run', 'big']).done;
    expect(second.code, second.stderr).toBe(0);
    const result = JSON.parse(second.stdout) as { ok: boolean; totals: { resumedBytes: number; bytes: number } };
    expect(result.ok).toBe(true);
    expect(result.totals.resumedBytes).toBeGreaterThanOrEqual(8 * MiB);
    const total = (image.layerSizes[0] as number) + image.configBytes.length;
    expect(result.totals.bytes).toBeLessThan(total);
    expect(result.totals.bytes + result.totals.resumedBytes).toBeGreaterThanOrEqual(image.layerSizes[0] as number);
    const raw = await skopeoInspectRaw(`docker://${dest.hostPort}/big/model:v1`);
    expect(raw.bytes.equals(image.manifestBytes)).toBe(true);
    const pulled = join(work, 'pulled');
    await skopeoCopy(`docker://${dest.hostPort}/big/model:v1`, `oci:${pulled}:v1`, ['--preserve-digests']);
    const { readLayoutBlob } = await import('../support/layouts.ts');
    expect((await readLayoutBlob(pulled, image.layerDigests[0] as string)).length).toBe(image.layerSizes[0]);
  });
});
