/** The paged listings: tags, catalog, referrers. */
import type { Context } from 'hono';
import { codes, RegistryError } from '../../errors/index.ts';
import { MediaType, paths } from '../../oci/index.ts';
import type { AppEnv } from '../app-env.ts';
import { absoluteUrl } from '../urls.ts';
import { pageSize, requireDigest } from '../validate.ts';

const MAX_PAGE = 1000;

export async function listTags(c: Context<AppEnv>, name: string): Promise<Response> {
  const { registry } = c.var.deps;
  const n = pageSize(c.req.query('n'), MAX_PAGE);
  if (!(await registry.catalog.has(name))) throw new RegistryError(codes.NAME_UNKNOWN, { detail: { name } });
  const page = n === 0 ? { entries: [] } : await registry.tags.list(name, n, c.req.query('last'));
  linkNext(c, paths.tags(name), n, page.last);
  return c.json({ name, tags: page.entries });
}

export async function listCatalog(c: Context<AppEnv>): Promise<Response> {
  const { registry } = c.var.deps;
  const n = pageSize(c.req.query('n'), MAX_PAGE);
  const access = c.var.access;
  const page = n === 0 ? { entries: [] } : await registry.catalog.list(n, c.req.query('last'), (repo) => access.canPull(repo));
  linkNext(c, paths.catalog(), n, page.last);
  return c.json({ repositories: page.entries });
}

export async function listReferrers(c: Context<AppEnv>, name: string, subject: string): Promise<Response> {
  requireDigest(subject);
  const artifactType = c.req.query('artifactType');
  const manifests = await c.var.deps.registry.manifests.referrers(name, subject, artifactType);
  if (artifactType !== undefined) c.header('OCI-Filters-Applied', 'artifactType');
  c.header('Content-Type', MediaType.ociIndex);
  return c.body(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests }), 200);
}

function linkNext(c: Context<AppEnv>, path: string, n: number, last: string | undefined): void {
  if (last === undefined) return;
  const query = new URLSearchParams({ n: String(n), last });
  c.header('Link', `<${absoluteUrl(c, `${path}?${query}`)}>; rel="next"`);
}
