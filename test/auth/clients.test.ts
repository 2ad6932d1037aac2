// Real clients log in to the local host with access control on, push and pull, and are refused
// where their role does not reach: docker (through a private dockerd), podman, skopeo (login, and
// copy with --dest-creds), helm. Anonymous pull works only from a project that allows it.
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Identities, Projects } from '../../core/auth/index.ts';
import { SqliteTable } from '../../core/storage/sqlite/sqlite-table.ts';
import { requireClients, run, type RunOptions } from '../support/clients.ts';
import { startDockerd, type RunningDockerd } from '../support/dockerd.ts';
import { isolatedHelm, requireHelm, type IsolatedHelm } from '../support/helm.ts';
import { buildImageLayout, type LayoutImage } from '../support/images.ts';
import { startLocalHost, type RunningRegistry } from '../support/local-host.ts';
import { isolatedPodman, type IsolatedPodman } from '../support/podman.ts';
import { skopeoCopy, skopeoInspectRaw } from '../support/skopeo.ts';
import { cleanUp, makeTempDir, removeTree } from '../support/tmp.ts';

const KiB = 1024;
const WRITER = { user: 'will', password: 'will-password-1' };
const READER = { user: 'rita', password: 'rita-password-1' };

/** The local host with access control on, and accounts: will writes team and pub, rita reads team; pub allows anonymous pull. */
async function startWithAccounts(): Promise<RunningRegistry> {
  const registry = await startLocalHost({ env: { CIRRUS_AUTH: 'on', CIRRUS_ADMIN_PASSWORD: 'admin-password-1' } });
  // The same store the running server uses, as the CLI would open it (SQLite in WAL mode).
  const table = new SqliteTable(join(registry.dataDir, 'index.db'));
  try {
    const identities = new Identities({ table, now: Date.now });
    const projects = new Projects({ table, now: Date.now });
    await projects.create('team');
    await projects.create('pub', { anonymousPull: true });
    await identities.create({ name: WRITER.user, kind: 'user', secret: WRITER.password });
    await identities.create({ name: READER.user, kind: 'user', secret: READER.password });
    await projects.addMember('team', WRITER.user, 'writer');
    await projects.addMember('pub', WRITER.user, 'writer');
    await projects.addMember('team', READER.user, 'reader');
  } finally {
    await table.close();
  }
  return registry;
}

async function smallImage(dir: string, seed: number): Promise<LayoutImage> {
  return buildImageLayout({ dir, tag: 'v1', layers: [{ size: 64 * KiB, seed }, { size: 32 * KiB + 7, seed: seed + 1 }] });
}

const skopeoClients = requireClients(['skopeo', 'skopeo']);
describe.skipIf(!skopeoClients.available)(`skopeo login and copy with access control on${skopeoClients.reason}`, () => {
  let registry: RunningRegistry;
  let work: string;
  let image: LayoutImage;
  const authfile = () => join(work, 'auth.json');
  const skopeo = (args: string[], opts: RunOptions = {}) => run('skopeo', args, opts);

  beforeAll(async () => {
    work = await makeTempDir('auth-skopeo');
    registry = await startWithAccounts();
    image = await smallImage(join(work, 'src'), 701);
  }, 120_000);
  afterAll(() => cleanUp(registry?.stop, work ? () => removeTree(work) : undefined), 60_000);

  it('skopeo login stores credentials; skopeo copy pushes and pulls with them', { timeout: 120_000 }, async () => {
    const bad = await skopeo(['login', '--tls-verify=false', '--authfile', authfile(), '-u', WRITER.user, '--password-stdin', registry.hostPort], { input: 'wrong-password', allowFailure: true });
    expect(bad.code).not.toBe(0);
    await skopeo(['login', '--tls-verify=false', '--authfile', authfile(), '-u', WRITER.user, '--password-stdin', registry.hostPort], { input: WRITER.password });
    expect(JSON.parse(await readFile(authfile(), 'utf8'))).toHaveProperty(['auths', registry.hostPort]);
    await skopeoCopy(image.ref, `docker://${registry.hostPort}/team/skopeo:v1`, ['--preserve-digests', '--authfile', authfile()]);
    const pulled = join(work, 'pulled');
    await skopeoCopy(`docker://${registry.hostPort}/team/skopeo:v1`, `oci:${pulled}:v1`, ['--preserve-digests', '--authfile', authfile()]);
    expect(JSON.parse(await readFile(join(pulled, 'index.json'), 'utf8')).manifests[0].digest).toBe(image.manifestDigest);
    await skopeo(['logout', '--authfile', authfile(), registry.hostPort]);
  });

  it('skopeo copy --dest-creds pushes; a reader\'s credentials cannot', { timeout: 120_000 }, async () => {
    await skopeoCopy(image.ref, `docker://${registry.hostPort}/pub/tool:v1`, ['--preserve-digests', '--dest-creds', `${WRITER.user}:${WRITER.password}`]);
    const refused = await run('skopeo', ['--insecure-policy', 'copy', '--dest-tls-verify=false', '--dest-creds', `${READER.user}:${READER.password}`, image.ref, `docker://${registry.hostPort}/team/refused:v1`], { allowFailure: true });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/unauthorized|authentication required|denied/i);
  });

  it('anonymous pull works from a project that allows it, and only there', { timeout: 120_000 }, async () => {
    const raw = await run('skopeo', ['--insecure-policy', 'inspect', '--raw', '--tls-verify=false', '--no-creds', `docker://${registry.hostPort}/pub/tool:v1`]);
    expect(raw.stdout.length).toBeGreaterThan(0);
    await skopeoCopy(`docker://${registry.hostPort}/pub/tool:v1`, `oci:${join(work, 'anon')}:v1`, ['--src-no-creds', '--preserve-digests']);
    const refused = await run('skopeo', ['--insecure-policy', 'inspect', '--raw', '--tls-verify=false', '--no-creds', `docker://${registry.hostPort}/team/skopeo:v1`], { allowFailure: true });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/unauthorized|authentication required|denied/i);
  });
});

const podmanClients = requireClients(['podman', 'podman'], ['skopeo', 'skopeo']);
describe.skipIf(!podmanClients.available)(`podman login, push and pull with access control on${podmanClients.reason}`, () => {
  let registry: RunningRegistry;
  let work: string;
  let podman: IsolatedPodman['podman'];
  let image: LayoutImage;
  const authfile = () => join(work, 'auth.json');

  beforeAll(async () => {
    work = await makeTempDir('auth-podman');
    registry = await startWithAccounts();
    ({ podman } = await isolatedPodman(join(work, 'podman')));
    image = await smallImage(join(work, 'src'), 801);
    await skopeoCopy(image.ref, `docker://${registry.hostPort}/team/source:v1`, ['--preserve-digests', '--dest-creds', `${WRITER.user}:${WRITER.password}`]);
  }, 120_000);
  afterAll(() => cleanUp(registry?.stop, work ? () => removeTree(work) : undefined), 60_000);

  it('podman login, pull, push under a new name, logout', { timeout: 120_000 }, async () => {
    const login = ['login', '--tls-verify=false', '--authfile', authfile(), '-u', WRITER.user, '--password-stdin', registry.hostPort];
    expect((await podman(login, { input: 'not-the-password', allowFailure: true })).code).not.toBe(0);
    await podman(login, { input: WRITER.password });
    await podman(['pull', '--tls-verify=false', '--authfile', authfile(), `${registry.hostPort}/team/source:v1`]);
    const digestFile = join(work, 'digest');
    await podman(['push', '--tls-verify=false', '--authfile', authfile(), '--digestfile', digestFile, `${registry.hostPort}/team/source:v1`, `docker://${registry.hostPort}/team/podman:v1`]);
    const pushed = (await readFile(digestFile, 'utf8')).trim();
    const served = await skopeoInspectRaw(`docker://${registry.hostPort}/team/podman:v1`).catch((e: Error) => e);
    // Without credentials skopeo is refused: the push landed in a private project.
    expect(served).toBeInstanceOf(Error);
    const withCreds = await run('skopeo', ['--insecure-policy', 'inspect', '--raw', '--tls-verify=false', '--creds', `${READER.user}:${READER.password}`, `docker://${registry.hostPort}/team/podman:v1`]);
    expect(withCreds.stdout.length).toBeGreaterThan(0);
    expect(pushed).toMatch(/^sha256:/);
    await podman(['logout', '--authfile', authfile(), registry.hostPort]);
    const after = await podman(['pull', '--tls-verify=false', '--authfile', authfile(), `${registry.hostPort}/team/podman:v1`], { allowFailure: true });
    expect(after.code).not.toBe(0);
  });

  it('a reader logs in and pulls, but cannot push', { timeout: 120_000 }, async () => {
    const readerAuth = join(work, 'reader.json');
    await podman(['login', '--tls-verify=false', '--authfile', readerAuth, '-u', READER.user, '--password-stdin', registry.hostPort], { input: READER.password });
    await podman(['pull', '--tls-verify=false', '--authfile', readerAuth, `${registry.hostPort}/team/source:v1`]);
    const push = await podman(['push', '--tls-verify=false', '--authfile', readerAuth, `${registry.hostPort}/team/source:v1`, `docker://${registry.hostPort}/team/reader-push:v1`], { allowFailure: true });
    expect(push.code).not.toBe(0);
    expect(push.stderr).toMatch(/unauthorized|authentication required|denied/i);
  });
});

const dockerClients = requireClients(['docker', 'docker.io'], ['dockerd', 'docker.io'], ['skopeo', 'skopeo']);
describe.skipIf(!dockerClients.available)(`docker login, push and pull with access control on${dockerClients.reason}`, () => {
  let registry: RunningRegistry;
  let dockerd: RunningDockerd;
  let work: string;
  let image: LayoutImage;
  const docker = (args: string[], opts: RunOptions = {}) => run('docker', args, { env: dockerd.env, ...opts });
  const remote = () => `${registry.hostPort}/team/docker:v1`;

  beforeAll(async () => {
    work = await makeTempDir('auth-docker');
    registry = await startWithAccounts();
    dockerd = await startDockerd();
    image = await smallImage(join(work, 'src'), 901);
    const archive = join(work, 'image.tar');
    await skopeoCopy(image.ref, `docker-archive:${archive}:cirrus-auth/docker:v1`);
    await docker(['load', '--input', archive]);
  }, 180_000);
  afterAll(() => cleanUp(registry?.stop, dockerd?.stop, work ? () => removeTree(work) : undefined), 60_000);

  it('docker login (OAuth2 password grant, refresh token kept), push, pull back', { timeout: 180_000 }, async () => {
    const refused = await docker(['login', '-u', WRITER.user, '--password-stdin', registry.hostPort], { input: 'not-the-password', allowFailure: true });
    expect(refused.code).not.toBe(0);
    await docker(['login', '-u', WRITER.user, '--password-stdin', registry.hostPort], { input: WRITER.password });
    // docker keeps the refresh token the token endpoint issued for access_type=offline, not the password.
    const config = JSON.parse(await readFile(join(dockerd.env.DOCKER_CONFIG!, 'config.json'), 'utf8')) as { auths: Record<string, { identitytoken?: string; auth?: string }> };
    expect(config.auths[registry.hostPort]?.identitytoken).toEqual(expect.any(String));

    await docker(['tag', 'cirrus-auth/docker:v1', remote()]);
    const push = await docker(['push', remote()]);
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(push.stdout)?.[1];
    expect(digest, push.stdout).toBeDefined();
    await docker(['rmi', 'cirrus-auth/docker:v1', remote()]);
    await docker(['pull', remote()]);
    const [pulled] = JSON.parse((await docker(['image', 'inspect', remote()])).stdout) as Array<{ Id: string; RepoDigests: string[] }>;
    expect(pulled?.Id).toBe(image.configDigest);
    expect(pulled?.RepoDigests).toContain(`${registry.hostPort}/team/docker@${digest}`);
  });

  it('after docker logout: pull from the private project is refused, from the anonymous-pull project allowed', { timeout: 180_000 }, async () => {
    await docker(['tag', remote(), `${registry.hostPort}/pub/docker:v1`]);
    await docker(['push', `${registry.hostPort}/pub/docker:v1`]);
    await docker(['logout', registry.hostPort]);
    await docker(['rmi', remote(), `${registry.hostPort}/pub/docker:v1`]);
    const refused = await docker(['pull', remote()], { allowFailure: true });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/unauthorized|authentication required|denied/i);
    await docker(['pull', `${registry.hostPort}/pub/docker:v1`]);
  });
});

const helmClient = requireHelm();
describe.skipIf(!helmClient.available)(`helm registry login, push and pull with access control on${helmClient.reason}`, () => {
  let registry: RunningRegistry;
  let work: string;
  let helm: IsolatedHelm['helm'];
  let chart: string;

  beforeAll(async () => {
    work = await makeTempDir('auth-helm');
    registry = await startWithAccounts();
    ({ helm } = await isolatedHelm(join(work, 'helm')));
    await helm(['create', 'demo'], { cwd: work });
    const res = await helm(['package', join(work, 'demo'), '--version', '0.1.0', '--destination', join(work, 'packaged')]);
    chart = /saved it to: (\S+\.tgz)/.exec(res.stdout)![1]!;
  }, 120_000);
  afterAll(() => cleanUp(registry?.stop, work ? () => removeTree(work) : undefined), 60_000);

  it('helm registry login, push, pull; refused after logout; a reader cannot push', { timeout: 120_000 }, async () => {
    const login = (who: { user: string; password: string }, input = who.password) =>
      helm(['registry', 'login', registry.hostPort, '--plain-http', '-u', who.user, '--password-stdin'], { input, allowFailure: true });
    expect((await login(WRITER, 'not-the-password')).code).not.toBe(0);
    expect((await login(WRITER)).code).toBe(0);
    const push = await helm(['push', chart, `oci://${registry.hostPort}/team/charts`, '--plain-http']);
    expect(`${push.stdout}${push.stderr}`).toMatch(/Digest: sha256:/);
    const dest = join(work, 'pulled');
    await mkdir(dest);
    await mkdir(join(work, 'anon'));
    await helm(['pull', `oci://${registry.hostPort}/team/charts/demo`, '--version', '0.1.0', '--plain-http', '--destination', dest]);
    expect((await readFile(join(dest, 'demo-0.1.0.tgz'))).equals(await readFile(chart))).toBe(true);

    await helm(['registry', 'logout', registry.hostPort]);
    const anonymous = await helm(['pull', `oci://${registry.hostPort}/team/charts/demo`, '--version', '0.1.0', '--plain-http', '--destination', join(work, 'anon')], { allowFailure: true });
    expect(anonymous.code).not.toBe(0);

    expect((await login(READER)).code).toBe(0);
    const readerPush = await helm(['push', chart, `oci://${registry.hostPort}/team/reader`, '--plain-http'], { allowFailure: true });
    expect(readerPush.code).not.toBe(0);
  });
});
