/** Absolute URLs for Location and Link headers, from the configured public base URL. */
import type { Context } from 'hono';
import type { AppEnv } from './app-env.ts';

export function absoluteUrl(c: Context<AppEnv>, path: string): string {
  const base = c.var.deps.http.publicUrl ?? originOf(c);
  return base.replace(/\/$/, '') + path;
}

function originOf(c: Context<AppEnv>): string {
  const host = c.req.header('host');
  const url = new URL(c.req.url);
  return host ? `${url.protocol}//${host}` : url.origin;
}
