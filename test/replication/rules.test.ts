// Replication rules in the table (validated, secrets kept out of every listing), cron, which
// changes a rule covers, the index's change stream, and a destination behind Docker token auth.
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cronMatches,
  itemsOfChanges,
  parseCron,
  ReplicationRules,
  ReplicationStatus,
  RuleError,
  watchChanges,
  type Change,
  type NewRule,
} from '../../core/replication/index.ts';
import { Registry } from '../../core/registry/index.ts';
import { runReplicationWorkflow } from '../../bin/replication-workflow.ts';
import { createAuthTestApp, type AuthTestApp } from '../support/auth-app.ts';
import { createTestApp, type TestApp } from '../support/app.ts';
import { imageOf, layer, push } from '../gc/support/content.ts';
import { replicationDeps } from './support/served.ts';
import { pushRule } from './support/rules.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t?.close());

const base: NewRule = pushRule('r', 'http://127.0.0.1:5000');

describe('replication rules', () => {
  it('are validated before anything is stored', async () => {
    const rules = new ReplicationRules(t.registry.deps);
    const refused = async (rule: Partial<NewRule> & { remote?: NewRule['remote'] }, message: RegExp) => {
      await expect(rules.add({ ...base, ...rule })).rejects.toThrow(message);
    };
    await refused({ name: 'Bad Name' }, /rule name/);
    await refused({ remote: { url: 'http://registry.example.com', plainHttp: false } }, /plain http/);
    await refused({ remote: { url: 'https://u:p@registry.example.com', plainHttp: false } }, /credentials/);
    await refused({ remote: { url: 'ftp://registry.example.com', plainHttp: false } }, /https/);
    await refused({ repos: ['UPPER/*'] }, /repository glob/);
    await refused({ tags: ['a/b'] }, /tag glob/);
    await refused({ schedule: '* * *' }, /five fields/);
    await refused({ schedule: '61 * * * *' }, /out of 0-59/);
    await refused({ destPrefix: '/x' }, /dest-prefix/);
    await refused({ direction: 'pull', schedule: '0 * * * *' }, /--repos/);
    await refused({ direction: 'pull', repos: ['a/*'] }, /--schedule/);
    await refused({ password: 'x' }, /--username/);
    expect(await rules.list()).toEqual([]);
    // http to a non-loopback host only when asked for.
    const plain = await rules.add({ ...base, name: 'plain', remote: { url: 'http://10.1.2.3:5000', plainHttp: true } });
    expect(plain.remote.url).toBe('http://10.1.2.3:5000');
    await expect(rules.add({ ...base, name: 'plain' })).rejects.toBeInstanceOf(RuleError);
    await rules.remove('plain');
  });

  it('keep the password out of every rule read, listing and status; only credentials() returns it', async () => {
    const rules = new ReplicationRules(t.registry.deps);
    await rules.add({ ...base, name: 'secret', remote: { url: 'https://registry.example.com', plainHttp: false, username: 'bot' }, password: 'hunter2-very-secret' });
    const shown = JSON.stringify([await rules.list(), await rules.get('secret'), await new ReplicationStatus(t.registry.deps).get('secret')]);
    expect(shown).not.toContain('hunter2');
    expect(shown).toContain('"username":"bot"');
    expect(await rules.credentials('secret')).toEqual({ username: 'bot', password: 'hunter2-very-secret' });
    const paused = await rules.setPaused('secret', true);
    expect(paused.paused).toBe(true);
    expect(JSON.stringify(paused)).not.toContain('hunter2');
    expect(await rules.remove('secret')).toBe(true);
    expect(await rules.credentials('secret')).toBeUndefined();
  });
});

describe('cron', () => {
  it('reads the five fields as crontab does (UTC)', () => {
    const at = (iso: string) => Date.parse(iso);
    expect(cronMatches(parseCron('*/15 * * * *'), at('2026-01-05T10:30:00Z'))).toBe(true);
    expect(cronMatches(parseCron('*/15 * * * *'), at('2026-01-05T10:31:00Z'))).toBe(false);
    expect(cronMatches(parseCron('0 3 * * 1-5'), at('2026-01-05T03:00:00Z'))).toBe(true); // a Monday
    expect(cronMatches(parseCron('0 3 * * 1-5'), at('2026-01-04T03:00:00Z'))).toBe(false); // a Sunday
    expect(cronMatches(parseCron('0 0 1 * 7'), at('2026-01-04T00:00:00Z'))).toBe(true); // Sunday, either day field
    expect(cronMatches(parseCron('0 0 1,15 6 *'), at('2026-06-15T00:00:00Z'))).toBe(true);
    expect(() => parseCron('* * * *')).toThrow(/five fields/);
  });
});

describe('the changes a push rule covers', () => {
  const change = (c: Partial<Change>): Change => ({ repository: 'team/app', kind: 'tag', id: 'v1', op: 'put', at: 1, ...c });
  const rule = { ...base, repos: ['team/*'], excludeRepos: ['team/private'], tags: ['v*'], excludeTags: ['*-rc'], paused: false, createdAt: 0, updatedAt: 0 };

  it('follows repository and tag globs; cosign tags and referrers follow their subject; the latest change of a tag wins', () => {
    const cosign = `sha256-${'a'.repeat(64)}.sig`;
    const items = itemsOfChanges(rule, [
      change({}),
      change({ id: 'v2-rc' }),
      change({ id: 'latest' }),
      change({ repository: 'team/private' }),
      change({ repository: 'other/app' }),
      change({ id: cosign }),
      change({ kind: 'manifest', id: 'sha256:1', op: 'put' }),
      change({ kind: 'manifest', id: 'sha256:2', op: 'put', subject: 'sha256:9' }),
      change({ kind: 'manifest', id: 'sha256:3', op: 'delete' }),
      change({ op: 'delete', at: 2 }),
    ]);
    expect(items).toEqual([
      { repo: 'team/app', tag: 'v1', op: 'delete', at: 2 },
      { repo: 'team/app', tag: cosign, op: 'put', at: 1 },
      { repo: 'team/app', digest: 'sha256:2', op: 'put', at: 1 },
      { repo: 'team/app', digest: 'sha256:3', op: 'delete', at: 1 },
    ]);
    expect(itemsOfChanges({ ...rule, direction: 'pull' }, [change({})])).toEqual([]);
  });

  it('the change stream reports tag and manifest writes after they succeed', async () => {
    const seen: Change[] = [];
    const registry = new Registry({ ...t.registry.deps, table: watchChanges(t.table, (c) => seen.push(c)) });
    const image = imageOf('stream/app', [layer()]);
    for (const blob of [image.config, ...image.layers]) await t.client.pushBlob('stream/app', blob);
    await registry.manifests.put({ name: 'stream/app', tags: ['v1'], body: image.bytes, contentType: 'application/vnd.oci.image.manifest.v1+json' });
    await registry.manifests.delete('stream/app', image.digest);
    expect(seen.map((c) => [c.kind, c.id, c.op])).toEqual([
      ['manifest', image.digest, 'put'],
      ['tag', 'v1', 'put'],
      ['tag', 'v1', 'delete'],
      ['manifest', image.digest, 'delete'],
    ]);
    expect(seen[1]?.at).toBeGreaterThan(0);
  });
});

describe('a destination behind Docker token auth', () => {
  let dest: AuthTestApp;
  let url: string;
  let server: ReturnType<typeof serve>;
  beforeAll(async () => {
    dest = await createAuthTestApp();
    await new Promise<void>((resolve) => {
      server = serve({ fetch: dest.app.fetch, hostname: '127.0.0.1', port: 0 }, (info: AddressInfo) => {
        url = `http://127.0.0.1:${info.port}`;
        resolve();
      });
    });
    await dest.account('robot$replicator', 'robot-secret', { team: 'writer' }, { kind: 'robot' });
  });
  afterAll(async () => {
    await new Promise((r) => server?.close(r));
    await dest?.close();
  });

  it('signs in with the rule’s credentials; a refusal (401) fails the item at once, never retried, and says why', async () => {
    const image = await push(t.client, imageOf('team/app', [layer()]), 'v1');
    const rules = new ReplicationRules(t.registry.deps);
    await rules.add({ ...base, name: 'auth', repos: ['team/*'], remote: { url, plainHttp: false, username: 'robot$replicator' }, password: 'robot-secret' });
    const ok = await runReplicationWorkflow(replicationDeps(t), { rule: 'auth', trigger: 'run' }, { retryIntervalMs: 10 });
    expect(ok.ok, JSON.stringify(ok.totals.failures)).toBe(true);
    expect((await dest.registry.manifests.stat('team/app', 'v1'))?.digest).toBe(image.digest);

    await rules.add({ ...base, name: 'wrong', repos: ['team/*'], remote: { url, plainHttp: false, username: 'robot$replicator' }, password: 'not-it' });
    await push(t.client, imageOf('team/app', [layer()]), 'v2');
    let copies = 0;
    const failed = await runReplicationWorkflow(replicationDeps(t), { rule: 'wrong', trigger: 'run' }, { retryIntervalMs: 10, observe: (role) => void (role === 'copy' && copies++) });
    expect(failed.ok).toBe(false);
    expect(failed.totals.failures.map((f) => f.reason)).toEqual([expect.stringMatching(/401/), expect.stringMatching(/401/)]);
    expect(failed.totals.retry).toEqual([]);
    expect(copies).toBe(2);
    expect(JSON.stringify(failed)).not.toContain('not-it');
    expect(dest.logged.some((e) => JSON.stringify(e).includes('not-it'))).toBe(false);
    await rules.remove('auth');
    await rules.remove('wrong');
  });
});

