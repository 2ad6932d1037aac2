/**
 * The token endpoint of Docker's token spec, at /token:
 * - GET with Basic credentials (or none: an anonymous token), `?service=&scope=` (scope repeats),
 *   `offline_token=true` for a refresh token as well;
 * - POST with the OAuth2 form: `grant_type=password` (username, password) or
 *   `grant_type=refresh_token` (refresh_token), `scope` space-separated, `access_type=offline`.
 * https://distribution.github.io/distribution/spec/auth/token/ and …/spec/auth/oauth/
 */
import type { Context, Hono } from 'hono';
import type { Auth } from '../auth/auth.ts';
import { parseScopes } from '../auth/scopes.ts';
import type { Credentials, TokenRequest } from '../auth/token-issuer.ts';
import { codes, RegistryError } from '../errors/index.ts';
import type { AppEnv } from './app-env.ts';
import { readBody } from './request-body.ts';
import { sourceAddress } from './source-address.ts';

export const TOKEN_PATH = '/token';
const MAX_FORM_BYTES = 64 * 1024;

export function tokenRoutes(app: Hono<AppEnv>, auth: Auth): void {
  app.get(TOKEN_PATH, async (c) => {
    checkService(auth, c.req.query('service'));
    return issue(c, auth, {
      credentials: basicCredentials(c.req.header('authorization')),
      scopes: parseScopes(c.req.queries('scope') ?? []),
      offline: c.req.query('offline_token') === 'true',
      source: sourceAddress(c),
    });
  });

  app.post(TOKEN_PATH, async (c) => {
    const type = c.req.header('content-type')?.split(';')[0]?.trim().toLowerCase();
    if (type !== 'application/x-www-form-urlencoded') throw invalid('the token form must be application/x-www-form-urlencoded');
    const form = new URLSearchParams(new TextDecoder().decode(await readBody(c, MAX_FORM_BYTES)));
    checkService(auth, form.get('service') ?? undefined);
    const grant = form.get('grant_type');
    let credentials: Credentials;
    if (grant === 'password') {
      const username = form.get('username');
      const password = form.get('password');
      if (!username || password === null) throw invalid('grant_type=password needs username and password');
      credentials = { kind: 'password', username, password };
    } else if (grant === 'refresh_token') {
      const refreshToken = form.get('refresh_token');
      if (!refreshToken) throw invalid('grant_type=refresh_token needs refresh_token');
      credentials = { kind: 'refresh', refreshToken };
    } else {
      throw invalid('grant_type must be password or refresh_token');
    }
    return issue(c, auth, {
      credentials,
      scopes: parseScopes(form.getAll('scope')),
      offline: form.get('access_type') === 'offline',
      source: sourceAddress(c),
    });
  });
}

async function issue(c: Context<AppEnv>, auth: Auth, request: TokenRequest): Promise<Response> {
  const result = await auth.issuer.issue(request);
  if (!result.ok) {
    if (result.failure === 'throttled') {
      throw new RegistryError(codes.TOOMANYREQUESTS, {
        message: 'too many failed logins; try again later',
        headers: { 'Retry-After': String(result.retryAfter ?? 60) },
      });
    }
    throw new RegistryError(codes.UNAUTHORIZED, { message: 'invalid credentials' });
  }
  c.header('Cache-Control', 'no-store');
  return c.json({
    token: result.token,
    access_token: result.token,
    expires_in: result.expiresIn,
    issued_at: new Date(result.issuedAt * 1000).toISOString(),
    ...(result.refreshToken ? { refresh_token: result.refreshToken } : {}),
  });
}

/** Basic credentials, or anonymous when there are none; anything else is refused. */
function basicCredentials(header: string | undefined): Credentials {
  if (header === undefined) return { kind: 'anonymous' };
  const m = /^Basic +([A-Za-z0-9+/=]+) *$/i.exec(header);
  const decoded = m ? Buffer.from(m[1]!, 'base64').toString('utf8') : '';
  const colon = decoded.indexOf(':');
  if (colon <= 0) throw new RegistryError(codes.UNAUTHORIZED, { message: 'expected Basic credentials (user:password)' });
  return { kind: 'password', username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function checkService(auth: Auth, service: string | undefined): void {
  if (service !== undefined && service !== auth.settings.service) throw invalid(`unknown service ${JSON.stringify(service.slice(0, 200))}`);
}

function invalid(message: string): RegistryError {
  return new RegistryError(codes.UNSUPPORTED, { status: 400, message });
}
