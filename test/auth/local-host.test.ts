// The local host with access control: loud when it is off, admin's password generated and shown
// once when none is configured, quiet otherwise, the signing key generated once (0600) and reused
// across restarts, and the `cirrus` CLI changing accounts over the store while the server runs on it.
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../support/clients.ts';
import { REPO_ROOT, startLocalHost, type RunningRegistry } from '../support/local-host.ts';
import { cleanUp, makeTempDir, removeTree } from '../support/tmp.ts';

const CLI = join(REPO_ROOT, 'bin', 'cirrus.mjs');
const ADMIN_PASSWORD = 'local-admin-password';

const streamLines = (registry: RunningRegistry, stream: 'stdout' | 'stderr') =>
  registry
    .output()
    .split('\n')
    .filter((l) => l.startsWith(`[${stream}] `))
    .map((l) => l.slice(stream.length + 3));

const logLines = (registry: RunningRegistry) =>
  registry
    .output()
    .split('\n')
    .map((l) => l.replace(/^\[std(?:out|err)\] /, ''))
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

async function token(registry: RunningRegistry, user: string, password: string, scope?: string): Promise<Response> {
  const query = scope ? `?service=cirrus&scope=${encodeURIComponent(scope)}` : '?service=cirrus';
  return fetch(`${registry.url}/token${query}`, { headers: { Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` } });
}

describe('the switch', () => {
  it('CIRRUS_AUTH=off says so with a warn line at start, and lets anyone push', async () => {
    const registry = await startLocalHost({ env: { CIRRUS_AUTH: 'off' } });
    try {
      const warn = logLines(registry).find((l) => l.event === 'auth-off');
      expect(warn).toMatchObject({ level: 'warn' });
      expect(String(warn?.message)).toMatch(/access control is OFF/);
      expect((await fetch(`${registry.url}/v2/`)).status).toBe(200);
      expect((await fetch(`${registry.url}/v2/a/blobs/uploads/`, { method: 'POST' })).status).toBe(202);
    } finally {
      await registry.stop();
    }
  });

  it('auth is on by default; a first start without CIRRUS_ADMIN_PASSWORD generates admin\'s password, keeps it in a 0600 file and shows it once', async () => {
    const dir = await makeTempDir('firststart');
    const file = join(dir, 'initial-admin-password');
    // Unset, not 'on': the harness passes CIRRUS_AUTH=off unless told otherwise, and spawn drops undefined values.
    const env = { CIRRUS_AUTH: undefined as unknown as string, CIRRUS_ADMIN_PASSWORD: '' };
    let registry: RunningRegistry | undefined;
    try {
      registry = await startLocalHost({ dataDir: dir, env });
      const password = (await readFile(file, 'utf8')).trim();
      expect(password).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      // stdout: one JSON line saying where it is, never the password; stderr: the banner with it.
      expect(logLines(registry).find((l) => l.event === 'initial-admin-password')).toMatchObject({ level: 'warn', user: 'admin', file });
      expect(streamLines(registry, 'stdout').join('\n')).not.toContain(password);
      const banner = streamLines(registry, 'stderr').join('\n');
      expect(banner).toContain(`    ${password}`);
      expect(banner).toContain(file);
      expect((await fetch(`${registry.url}/v2/`)).status).toBe(401);
      expect((await token(registry, 'admin', password)).status).toBe(200);
      expect(logLines(registry).find((l) => l.event === 'listening')).toMatchObject({ auth: true });

      // A later start shows nothing again: stderr stays empty, and the log only says where the password still is.
      await registry.stop();
      registry = await startLocalHost({ dataDir: dir, env });
      expect(streamLines(registry, 'stderr')).toEqual([]);
      expect(logLines(registry).find((l) => l.event === 'initial-admin-password')).toBeUndefined();
      expect(logLines(registry).find((l) => l.event === 'initial-admin-password-unchanged')).toMatchObject({ file });
      expect(await readFile(file, 'utf8')).toBe(`${password}\n`);

      // Changed with the CLI: the file goes at once.
      const cli = await run(process.execPath, [CLI, 'user', 'passwd', 'admin', '--password-stdin'], { input: 'changed-admin-password\n', env: { ...process.env, CIRRUS_DATA_DIR: dir } });
      expect(cli.stderr).toContain(`removed ${file}`);
      await expect(stat(file)).rejects.toMatchObject({ code: 'ENOENT' });
      expect((await token(registry, 'admin', password)).status).toBe(401);
      expect((await token(registry, 'admin', 'changed-admin-password')).status).toBe(200);

      // Changed where the file is not (the CLI on another machine, against the same table): the next start removes it.
      await writeFile(file, `${password}\n`, { mode: 0o600 });
      await registry.stop();
      registry = await startLocalHost({ dataDir: dir, env });
      expect(logLines(registry).find((l) => l.event === 'initial-admin-password-removed')).toMatchObject({ file });
      await expect(stat(file)).rejects.toMatchObject({ code: 'ENOENT' });
      expect(streamLines(registry, 'stderr')).toEqual([]);
    } finally {
      await registry?.stop().finally(() => removeTree(dir));
    }
  }, 180_000);

  it('a first start that stopped before creating admin: the next one creates admin with the password already in the file', async () => {
    const dir = await makeTempDir('firststart');
    await writeFile(join(dir, 'initial-admin-password'), 'written-before-a-crash\n', { mode: 0o600 });
    const registry = await startLocalHost({ dataDir: dir, env: { CIRRUS_AUTH: 'on', CIRRUS_ADMIN_PASSWORD: '' } });
    try {
      expect((await token(registry, 'admin', 'written-before-a-crash')).status).toBe(200);
      expect(streamLines(registry, 'stderr').join('\n')).toContain('    written-before-a-crash');
    } finally {
      await registry.stop().finally(() => removeTree(dir));
    }
  });

  it('a normal start is quiet: nothing on stderr (no ExperimentalWarning from node:sqlite), only JSON lines on stdout', async () => {
    const registry = await startLocalHost({ env: { CIRRUS_AUTH: 'on', CIRRUS_ADMIN_PASSWORD: ADMIN_PASSWORD } });
    try {
      await fetch(`${registry.url}/v2/`);
      await new Promise((resolve) => setTimeout(resolve, 100)); // the log is flushed once per event-loop turn
      expect(streamLines(registry, 'stderr')).toEqual([]);
      const stdout = streamLines(registry, 'stdout');
      expect(stdout.length).toBeGreaterThan(2);
      for (const line of stdout) expect(() => JSON.parse(line), line).not.toThrow();
    } finally {
      await registry.stop();
    }
  });
});

describe('with access control on', () => {
  let dir: string;
  let registry: RunningRegistry | undefined;
  const env = { CIRRUS_AUTH: 'on', CIRRUS_ADMIN_PASSWORD: ADMIN_PASSWORD };
  const cirrus = (args: string[], opts: { input?: string; allowFailure?: boolean } = {}) =>
    run(process.execPath, [CLI, ...args], { env: { ...process.env, CIRRUS_DATA_DIR: dir }, ...opts });

  beforeAll(async () => {
    dir = await makeTempDir('authhost');
    registry = await startLocalHost({ dataDir: dir, env });
  }, 60_000);
  afterAll(() => cleanUp(registry?.stop, dir ? () => removeTree(dir) : undefined), 60_000);

  it('bootstraps admin from CIRRUS_ADMIN_PASSWORD and keeps the signing key in a 0600 private JWK', async () => {
    expect(logLines(registry!).find((l) => l.event === 'admin-created')).toBeDefined();
    expect((await token(registry!, 'admin', ADMIN_PASSWORD)).status).toBe(200);
    const file = join(dir, 'auth-signing-key.jwk');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ kty: 'EC', crv: 'P-256', d: expect.any(String) });
  });

  it('the CLI creates a project, a user and a membership while the server runs; the user logs in and pushes at once', async () => {
    await cirrus(['project', 'create', 'team']);
    await cirrus(['user', 'create', 'will', '--password-stdin'], { input: 'will-password\n' });
    await cirrus(['member', 'add', 'team', 'will', 'writer']);
    const res = await token(registry!, 'will', 'will-password', 'repository:team/app:pull,push');
    expect(res.status).toBe(200);
    const { token: bearer } = (await res.json()) as { token: string };
    const upload = await fetch(`${registry!.url}/v2/team/app/blobs/uploads/`, { method: 'POST', headers: { Authorization: `Bearer ${bearer}` } });
    expect(upload.status).toBe(202);

    const listed = JSON.parse((await cirrus(['user', 'list', '--json'])).stdout) as Array<Record<string, unknown>>;
    expect(listed.map((u) => u.name)).toEqual(['admin', 'will']);
    expect(JSON.stringify(listed)).not.toMatch(/scrypt|secretHash|password/);
    expect((await cirrus(['member', 'list', 'team'])).stdout).toMatch(/will\s+writer/);
  });

  it('robots: the secret is shown once, works until the robot is deleted; secret rotate replaces it', async () => {
    const created = JSON.parse((await cirrus(['robot', 'create', 'ci', '--project', 'team', '--role', 'reader', '--expires-in', '1d', '--json'])).stdout) as { name: string; secret: string };
    expect(created.name).toBe('robot$ci');
    expect((await token(registry!, 'robot$ci', created.secret)).status).toBe(200);
    expect((await cirrus(['robot', 'list'])).stdout).not.toContain(created.secret);

    const rotated = JSON.parse((await cirrus(['secret', 'rotate', 'robot$ci', '--json'])).stdout) as { secret: string };
    expect((await token(registry!, 'robot$ci', created.secret)).status).toBe(401);
    expect((await token(registry!, 'robot$ci', rotated.secret)).status).toBe(200);

    await cirrus(['robot', 'delete', 'ci']);
    expect((await token(registry!, 'robot$ci', rotated.secret)).status).toBe(401);
  });

  it('refuses bad input with exit codes 1 (failed) and 2 (usage)', async () => {
    expect((await cirrus(['user', 'create', 'will'], { allowFailure: true })).code).toBe(1);
    expect((await cirrus(['member', 'add', 'team', 'will', 'overlord'], { allowFailure: true })).code).toBe(2);
    expect((await cirrus(['frobnicate'], { allowFailure: true })).code).toBe(2);
    expect((await cirrus(['--bogus'], { allowFailure: true })).code).toBe(2);
  });

  it('cirrus audit lists origin denials, writes and CLI changes, newest first; edge denials are only logged', async () => {
    // No token: the edge handler in front answers 401 itself, as CloudFront's would. Edge
    // denials go to the log, not the audit table (the origin never saw the request).
    const denied = await fetch(`${registry!.url}/v2/team/app/tags/list`);
    expect(denied.status).toBe(401);
    await new Promise((resolve) => setTimeout(resolve, 100)); // the log is flushed once per event-loop turn
    expect(logLines(registry!).some((l) => l.event === 'edge-denied' && String(l.path).includes('/v2/team/app/tags/list'))).toBe(true);
    const { stdout } = await cirrus(['audit', '--limit', '100', '--json']);
    const { events } = JSON.parse(stdout) as { events: Array<Record<string, unknown>> };
    expect(events.some((e) => e.who === 'anonymous' && e.action === 'pull' && e.repository === 'team/app')).toBe(false);
    expect(events).toContainEqual(expect.objectContaining({ action: 'token.issue', result: 'denied', source: '127.0.0.1' }));
    const actions = events.map((e) => e.action);
    for (const action of ['robot.delete', 'secret.rotate', 'robot.create', 'member.add', 'user.create', 'project.create']) expect(actions).toContain(action);
    expect(actions).toContain('token.issue'); // the failed logins above
    const times = events.map((e) => e.at as number);
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    const human = (await cirrus(['audit', '--limit', '2'])).stdout;
    expect(human).toMatch(/^TIME\s+RESULT\s+WHO\s+ACTION/);
    expect(human).toMatch(/more: cirrus audit --limit 2 --after '/);
  });

  it('npx cirrus runs the same CLI (the package bin)', async () => {
    const res = await run('npx', ['--no-install', 'cirrus', 'project', 'list', '--json'], { cwd: REPO_ROOT, env: { ...process.env, CIRRUS_DATA_DIR: dir } });
    expect((JSON.parse(res.stdout) as Array<{ name: string }>).map((p) => p.name)).toEqual(['library', 'team']);
  });

  it('after a restart the same signing key verifies tokens issued before it', async () => {
    const res = await token(registry!, 'will', 'will-password', 'repository:team/app:pull');
    const { token: bearer } = (await res.json()) as { token: string };
    await registry!.stop();
    registry = await startLocalHost({ dataDir: dir, env: { ...env, CIRRUS_ADMIN_PASSWORD: 'ignored-now' } });
    expect(logLines(registry).find((l) => l.event === 'admin-created')).toBeUndefined();
    expect((await fetch(`${registry.url}/v2/team/app/tags/list`, { headers: { Authorization: `Bearer ${bearer}` } })).status).toBe(404);
    expect((await token(registry, 'admin', ADMIN_PASSWORD)).status).toBe(200);
    expect((await token(registry, 'admin', 'ignored-now')).status).toBe(401);
  }, 60_000);
});
