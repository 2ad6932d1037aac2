// cirrus-region:// rule syntax: runs on the embedded store (the copy itself: region.test.ts, on aws-rgw).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRegionUrl, regionUrl, ReplicationRules, RuleError } from '../../core/replication/index.ts';
import { createTestApp, type TestApp } from '../support/app.ts';
import { pushRule as rule } from './support/rules.ts';

describe('cirrus-region:// rules', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(async () => {
    await app?.close();
  });

  it('name a table and a bucket, and a region if another; push rules only, without credentials', async () => {
    expect(parseRegionUrl('cirrus-region://Cirrus_Table-eu/cirrus-blobs-eu?region=eu-west-1')).toEqual({ table: 'Cirrus_Table-eu', bucket: 'cirrus-blobs-eu', region: 'eu-west-1' });
    expect(parseRegionUrl('cirrus-region://t1a/b1b')).toEqual({ table: 't1a', bucket: 'b1b' });
    for (const bad of ['cirrus-region://t1a', 'cirrus-region://t1a/B_ucket', 'cirrus-region://t1a/b1b?region=mars', 'cirrus-region://t1a/b1b/extra']) expect(parseRegionUrl(bad), bad).toBeUndefined();
    expect(regionUrl({ table: 't1a', bucket: 'b1b', region: 'eu-west-1' })).toBe('cirrus-region://t1a/b1b?region=eu-west-1');

    const rules = new ReplicationRules(app.registry.deps);
    const added = await rules.add(rule('eu', 'cirrus-region://cirrus-eu/cirrus-eu-blobs/?region=eu-west-1'));
    expect(added.remote.url).toBe('cirrus-region://cirrus-eu/cirrus-eu-blobs?region=eu-west-1');
    await expect(rules.add(rule('p', 'cirrus-region://t1a/b1b', { direction: 'pull', repos: ['x'], schedule: '* * * * *' }))).rejects.toThrow(RuleError);
    await expect(rules.add(rule('u', 'cirrus-region://t1a/b1b', { remote: { url: 'cirrus-region://t1a/b1b', plainHttp: false, username: 'x' } }))).rejects.toThrow(/username/);
    await expect(rules.add(rule('b', 'cirrus-region://t1a'))).rejects.toThrow(/not a region/);
    await rules.remove('eu');
  });
});

