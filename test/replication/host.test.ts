// The local host's replication triggers, in process: pushes through the watched table start runs
// within a second, a cron schedule and the periodic reconciliation start runs of their own, and
// rules added, paused or resumed in the table take effect without a restart.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../core/http/index.ts';
import { ReplicationRules, type NewRule } from '../../core/replication/index.ts';
import { Registry } from '../../core/registry/index.ts';
import { startReplicationHost, type ReplicationHost } from '../../bin/replication-host.ts';
import { appTransport, createTestApp, RegistryClient, type TestApp } from '../support/app.ts';
import { imageOf, layer, push } from '../gc/support/content.ts';
import { serveTestApp, tagDigest, type ServedApp } from './support/served.ts';
import { pushRule } from './support/rules.ts';

let source: TestApp;
let dest: ServedApp;
let host: ReplicationHost;
let client: RegistryClient;
// 10:04:50 UTC: the schedule */5 fires when the clock reaches 10:05.
const clock = { now: Date.parse('2026-01-05T10:04:50Z') };

beforeAll(async () => {
  source = await createTestApp();
  dest = await serveTestApp();
  host = startReplicationHost(
    { ...source.registry.deps, now: () => clock.now },
    { enabled: true, debounceMs: 50, reconcileMs: 60 * 60_000, retryIntervalMs: 10, tickMs: 100 },
    silentLogger,
  );
  // The registry writes through the host's table, as bin/local-host.ts wires it; served over fetch-like app requests.
  const registry = new Registry({ ...source.registry.deps, table: host.table });
  const { createRegistryApp } = await import('../../core/http/index.ts');
  const app = createRegistryApp({ registry, log: silentLogger, http: {} });
  client = new RegistryClient(appTransport(app));
});
afterAll(async () => {
  await host?.stop();
  await source?.close();
  await dest?.close();
});

/** Rules stamped by the test's clock, as the host reads it. */
const rulesStore = () => new ReplicationRules({ table: source.table, now: () => clock.now });

const rule = (name: string, extra: Partial<NewRule>): NewRule => pushRule(name, dest.url, extra);

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('replication triggers in the local host', () => {
  it('a push a rule covers is at the destination within seconds; a rule added later applies at once', async () => {
    const rules = rulesStore();
    await rules.add(rule('live', { repos: ['live/*'] }));
    const image = await push(client, imageOf('live/app', [layer()]), 'v1');
    const started = Date.now();
    await eventually('live/app:v1 at the destination', async () => ((await tagDigest(dest, 'live/app', 'v1')) === image.digest ? true : undefined));
    expect(Date.now() - started).toBeLessThan(5_000);
    // The counters are recorded when the run ends, which may come just after the tag is visible.
    await eventually('the run counted', async () => ((host.metrics.get('cirrus_replication_manifests_total', 'rule="live"') ?? 0) >= 1 ? true : undefined));
    // Not covered: nothing happens.
    await push(client, imageOf('elsewhere/app', [layer()]), 'v1');
    await new Promise((r) => setTimeout(r, 500));
    expect(await tagDigest(dest, 'elsewhere/app', 'v1')).toBeUndefined();
  });

  it('a paused rule does not trigger; resumed, the next push goes', async () => {
    const rules = rulesStore();
    await rules.add(rule('pausable', { repos: ['pause/*'] }));
    await rules.setPaused('pausable', true);
    await push(client, imageOf('pause/app', [layer()]), 'v1');
    await new Promise((r) => setTimeout(r, 500));
    expect(await tagDigest(dest, 'pause/app', 'v1')).toBeUndefined();
    await rules.setPaused('pausable', false);
    const image = await push(client, imageOf('pause/app', [layer()]), 'v2');
    await eventually('pause/app:v2', async () => ((await tagDigest(dest, 'pause/app', 'v2')) === image.digest ? true : undefined));
  });

  it('a scheduled rule runs when its cron minute comes', async () => {
    const image = await push(source.client, imageOf('cron/app', [layer()]), 'v1');
    await rulesStore().add(rule('cron', { repos: ['cron/*'], onPush: false, schedule: '*/5 * * * *' }));
    await new Promise((r) => setTimeout(r, 400));
    expect(await tagDigest(dest, 'cron/app', 'v1')).toBeUndefined();
    clock.now = Date.parse('2026-01-05T10:05:00Z');
    await eventually('cron/app:v1 after 10:05', async () => ((await tagDigest(dest, 'cron/app', 'v1')) === image.digest ? true : undefined));
  });

  it('the periodic reconciliation repairs what no trigger saw', async () => {
    // Written straight to the store: the change stream never sees it (as a write lost before its event).
    const image = await push(source.client, imageOf('recon/app', [layer()]), 'v1');
    await rulesStore().add(rule('recon', { repos: ['recon/*'] }));
    await new Promise((r) => setTimeout(r, 400));
    expect(await tagDigest(dest, 'recon/app', 'v1')).toBeUndefined();
    clock.now += 61 * 60_000;
    await eventually('recon/app:v1 after the reconciliation', async () => ((await tagDigest(dest, 'recon/app', 'v1')) === image.digest ? true : undefined));
  });
});
