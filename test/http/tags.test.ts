import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, expectError, type TestApp } from '../support/app.ts';

let t: TestApp;
const TAGS = ['1.0', '1.1', '2.0', 'Latest', 'beta', 'latest', 'v_1'];
beforeAll(async () => {
  t = await createTestApp();
  const image = await t.client.pushImage('tags/repo', 'latest');
  // Pushed out of order: the listing sorts.
  for (const tag of ['v_1', 'beta', '2.0', 'Latest', '1.0', '1.1']) await t.client.pushManifest('tags/repo', tag, image.bytes);
});
afterAll(() => t.close());

async function list(query = '') {
  const res = await t.client.get(`/v2/tags/repo/tags/list${query}`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  return { body: (await res.json()) as { name: string; tags: string[] }, link: res.headers.get('link') };
}

describe('GET /v2/<name>/tags/list', () => {
  it('lists every tag in lexical order, with no Link when nothing follows', async () => {
    const { body, link } = await list();
    expect(body).toEqual({ name: 'tags/repo', tags: [...TAGS].sort() });
    expect(link).toBeNull();
  });

  it('pages with n and a Link to the next page, which ends without a Link', async () => {
    const seen: string[] = [];
    let query = '?n=3';
    for (let pages = 0; pages < 10; pages++) {
      const { body, link } = await list(query);
      expect(body.tags.length).toBeLessThanOrEqual(3);
      seen.push(...body.tags);
      if (!link) break;
      const m = /^<([^>]+)>; rel="next"$/.exec(link);
      expect(m, link).not.toBeNull();
      const next = new URL(m![1]!);
      expect(next.origin + next.pathname).toBe('http://localhost/v2/tags/repo/tags/list');
      expect(next.searchParams.get('n')).toBe('3');
      expect(next.searchParams.get('last')).toBe(body.tags[body.tags.length - 1]);
      query = next.search;
    }
    expect(seen).toEqual([...TAGS].sort());
  });

  it('starts after `last`', async () => {
    const { body, link } = await list('?n=2&last=2.0');
    expect(body.tags).toEqual(['Latest', 'beta']);
    expect(link).toContain('last=beta');
    expect((await list('?last=latest')).body.tags).toEqual(['v_1']);
    expect((await list('?last=zzz')).body.tags).toEqual([]);
  });

  it('answers an exact final page without a Link', async () => {
    const { body, link } = await list(`?n=2&last=latest`);
    expect(body.tags).toEqual(['v_1']);
    expect(link).toBeNull();
    const exact = await list(`?n=${TAGS.length}`);
    expect(exact.body.tags).toHaveLength(TAGS.length);
    expect(exact.link).toBeNull();
  });

  it('answers n=0 with an empty list', async () => {
    expect((await list('?n=0')).body.tags).toEqual([]);
  });

  it.each(['-1', 'abc', '1.5', '1e3'])('answers 400 to n=%s', async (n) => {
    const res = await t.client.get(`/v2/tags/repo/tags/list?n=${n}`);
    await expectError(res, 400, 'UNSUPPORTED');
  });

  it('answers 404 NAME_UNKNOWN for a repository that does not exist', async () => {
    await expectError(await t.client.get('/v2/tags/nothing/tags/list'), 404, 'NAME_UNKNOWN');
  });

  it('lists an empty repository (all tags deleted) as empty', async () => {
    await t.client.pushImage('tags/emptied', 'only');
    expect((await t.client.delete('/v2/tags/emptied/manifests/only')).status).toBe(202);
    const res = await t.client.get('/v2/tags/emptied/tags/list');
    expect(await res.json()).toEqual({ name: 'tags/emptied', tags: [] });
  });
});
