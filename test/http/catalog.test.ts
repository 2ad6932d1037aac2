import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, expectError, type TestApp } from '../support/app.ts';

let t: TestApp;
const REPOS = ['alpha', 'beta/one', 'beta/two', 'gamma', 'library/busybox'];
beforeAll(async () => {
  t = await createTestApp();
  for (const name of [...REPOS].reverse()) await t.client.pushImage(name, 'v1');
  // A repository with blobs but no manifest is not listed.
  await t.client.pushBlob('blobs-only', 'bytes');
});
afterAll(() => t.close());

async function list(query = '') {
  const res = await t.client.get(`/v2/_catalog${query}`);
  expect(res.status).toBe(200);
  return { body: (await res.json()) as { repositories: string[] }, link: res.headers.get('link') };
}

describe('GET /v2/_catalog', () => {
  it('lists repositories in order', async () => {
    const { body, link } = await list();
    expect(body).toEqual({ repositories: REPOS });
    expect(link).toBeNull();
  });

  it('pages with n, last and a Link to the next page', async () => {
    const seen: string[] = [];
    let query = '?n=2';
    for (let pages = 0; pages < 10; pages++) {
      const { body, link } = await list(query);
      seen.push(...body.repositories);
      if (!link) break;
      const m = /^<([^>]+)>; rel="next"$/.exec(link);
      expect(m, link).not.toBeNull();
      const next = new URL(m![1]!);
      expect(next.pathname).toBe('/v2/_catalog');
      expect(next.searchParams.get('last')).toBe(body.repositories[1]);
      query = next.search;
    }
    expect(seen).toEqual(REPOS);
    expect((await list('?n=2&last=beta/two')).body.repositories).toEqual(['gamma', 'library/busybox']);
    expect((await list('?n=2&last=beta/two')).link).toBeNull();
  });

  it('answers 400 to a malformed n', async () => {
    await expectError(await t.client.get('/v2/_catalog?n=x'), 400, 'UNSUPPORTED');
  });

  it('answers 405 UNSUPPORTED to other methods', async () => {
    await expectError(await t.client.send('POST', '/v2/_catalog'), 405, 'UNSUPPORTED');
  });
});
