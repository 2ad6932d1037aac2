// The registry app with access control on, over a fresh embedded store, for `app.request()` tests;
// beside it an app over the same registry with access control off, to seed content quickly.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hono } from 'hono';
import { Auth, defaultAuthSettings, generateSigningKey, type AuditEvent, type AuthSettings, type Role, type SigningKey } from '../../core/auth/index.ts';
import { createRegistryApp, silentLogger, type AppEnv } from '../../core/http/index.ts';
import { defaultSettings, Registry } from '../../core/registry/index.ts';
import { FsObjectStore } from '../../core/storage/fs/fs-object-store.ts';
import { SqliteTable } from '../../core/storage/sqlite/sqlite-table.ts';
import { appTransport, RegistryClient } from './app.ts';

export interface AuthTestApp {
  /** Access control on. */
  app: Hono<AppEnv>;
  /** The same registry, access control off: for seeding content. */
  open: RegistryClient;
  auth: Auth;
  registry: Registry;
  table: SqliteTable;
  key: SigningKey;
  /** The clock both the registry and access control read (ms); move it to expire things. */
  clock: { now: number };
  /** Audit events also written as log lines, in order. */
  logged: AuditEvent[];
  /** One request against the app with access control on. */
  send(method: string, path: string, init?: { token?: string; headers?: Record<string, string>; body?: Uint8Array | string; address?: string }): Promise<Response>;
  /** GET /token with Basic credentials (or none); the token, or throws with the response. */
  token(user: string | undefined, password: string | undefined, scopes: string[]): Promise<string>;
  /** Creates a user (or robot) with a password and, optionally, roles in projects. */
  account(name: string, password: string, roles?: Record<string, Role>, options?: { kind?: 'user' | 'robot'; expiresAt?: number }): Promise<void>;
  close(): Promise<void>;
}

export async function createAuthTestApp(options: { settings?: Partial<AuthSettings>; publicUrl?: string } = {}): Promise<AuthTestApp> {
  const dir = await mkdtemp(join(tmpdir(), 'cirrus-auth-'));
  const table = new SqliteTable(join(dir, 'index.db'));
  const objects = new FsObjectStore({ root: join(dir, 'store'), publicUrl: '', signingSecret: randomBytes(32) });
  const clock = { now: Date.now() };
  const now = () => clock.now;
  const registry = new Registry({ table, objects, settings: defaultSettings, now });
  const { key } = await generateSigningKey();
  const logged: AuditEvent[] = [];
  const auth = new Auth({ table, key, settings: { ...defaultAuthSettings, ...options.settings }, now, log: (e) => logged.push(e) });
  const app = createRegistryApp({ registry, log: silentLogger, http: { publicUrl: options.publicUrl }, auth });
  const open = new RegistryClient(appTransport(createRegistryApp({ registry, log: silentLogger, http: {} })));
  const transport = appTransport(app);

  const send: AuthTestApp['send'] = async (method, path, init = {}) => {
    const headers: Record<string, string> = { ...init.headers };
    if (init.token !== undefined) headers.Authorization = `Bearer ${init.token}`;
    if (init.address === undefined) return transport(method, path, { headers, body: init.body });
    // The socket's peer address, as @hono/node-server passes the raw request in the env.
    const body = typeof init.body === 'string' ? new TextEncoder().encode(init.body) : init.body;
    if (body) headers['Content-Length'] = String(body.byteLength);
    // On Node the raw request is also the body stream the app reads.
    const incoming = {
      socket: { remoteAddress: init.address },
      async *[Symbol.asyncIterator]() {
        if (body) yield body;
      },
    };
    return app.request(path, { method, headers, body: body as RequestInit['body'] }, { incoming } as never);
  };

  return {
    app,
    open,
    auth,
    registry,
    table,
    key,
    clock,
    logged,
    send,
    async token(user, password, scopes) {
      const query = new URLSearchParams({ service: auth.settings.service });
      for (const scope of scopes) query.append('scope', scope);
      const headers: Record<string, string> = {};
      if (user !== undefined) headers.Authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
      const res = await send('GET', `/token?${query}`, { headers });
      if (res.status !== 200) throw new Error(`token for ${user ?? 'anonymous'}: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { token: string }).token;
    },
    async account(name, password, roles = {}, opts = {}) {
      await auth.identities.create({ name, kind: opts.kind ?? 'user', secret: password, expiresAt: opts.expiresAt });
      for (const [project, role] of Object.entries(roles)) {
        await auth.projects.create(project);
        await auth.projects.addMember(project, name, role);
      }
    },
    async close() {
      await table.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The claims of a JWT, unverified: for asserting what was issued. */
export function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}
