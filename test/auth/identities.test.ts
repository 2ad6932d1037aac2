// Accounts and projects over the table: scrypt-hashed secrets (salted per account, never returned),
// robots that expire, disabled accounts, memberships written on both sides, the first-start
// bootstrap of admin and library.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Authorisation, bootstrapAuth, hashSecret, Identities, projectOf, Projects, verifySecret } from '../../core/auth/index.ts';
import { SqliteTable } from '../../core/storage/sqlite/sqlite-table.ts';

let dir: string;
let table: SqliteTable;
const clock = { now: Date.UTC(2030, 5, 1) };
let identities: Identities;
let projects: Projects;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cirrus-ids-'));
  table = new SqliteTable(join(dir, 'index.db'));
  identities = new Identities({ table, now: () => clock.now });
  projects = new Projects({ table, now: () => clock.now });
});
afterAll(async () => {
  await table.close();
  await rm(dir, { recursive: true, force: true });
});

describe('secrets', () => {
  it('are scrypt hashes with a per-secret salt, compared in constant time', async () => {
    const a = await hashSecret('correct horse');
    const b = await hashSecret('correct horse');
    expect(a).toMatch(/^scrypt\$16384\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
    expect(a).not.toBe(b);
    expect(await verifySecret('correct horse', a)).toBe(true);
    expect(await verifySecret('correct horsE', a)).toBe(false);
    expect(await verifySecret('correct horse', undefined)).toBe(false);
    expect(await verifySecret('correct horse', 'scrypt$1$1$1$x$y')).toBe(false);
    expect(await verifySecret('x'.repeat(5000), a)).toBe(false);
  });
});

describe('Identities', () => {
  it('stores only the hash, and never returns it', async () => {
    await identities.create({ name: 'alice', kind: 'user', secret: 'alice-password' });
    const item = await table.get('IDENTITIES', 'alice');
    expect(JSON.stringify(item)).not.toContain('alice-password');
    expect(item?.attrs.secretHash).toMatch(/^scrypt\$/);
    const listed = JSON.stringify([await identities.get('alice'), await identities.list()]);
    expect(listed).not.toContain('scrypt');
    expect(listed).not.toContain('secretHash');
  });

  it('authenticates, and refuses wrong secrets, unknown names, disabled accounts', async () => {
    expect(await identities.authenticate('alice', 'alice-password')).toMatchObject({ ok: true, identity: { name: 'alice', kind: 'user' } });
    expect(await identities.authenticate('alice', 'alice-passwor')).toEqual({ ok: false, reason: 'secret' });
    expect(await identities.authenticate('nobody', 'alice-password')).toEqual({ ok: false, reason: 'unknown' });
    await identities.setDisabled('alice', true);
    expect(await identities.authenticate('alice', 'alice-password')).toEqual({ ok: false, reason: 'disabled' });
    await identities.setDisabled('alice', false);
  });

  it('a new secret moves the epoch and replaces the old one', async () => {
    const before = (await identities.get('alice'))!.epoch;
    await identities.setSecret('alice', 'alice-password-2');
    expect((await identities.get('alice'))!.epoch).toBe(before + 1);
    expect((await identities.authenticate('alice', 'alice-password')).ok).toBe(false);
    expect((await identities.authenticate('alice', 'alice-password-2')).ok).toBe(true);
  });

  it('robots are named robot$<name> and refused once expired', async () => {
    await identities.create({ name: 'robot$ci', kind: 'robot', secret: 'robot-secret-xyz', expiresAt: clock.now + 1000 });
    expect((await identities.authenticate('robot$ci', 'robot-secret-xyz')).ok).toBe(true);
    clock.now += 1000;
    expect(await identities.authenticate('robot$ci', 'robot-secret-xyz')).toEqual({ ok: false, reason: 'expired' });
    await expect(identities.create({ name: 'ci', kind: 'robot', secret: 'robot-secret-xyz' })).rejects.toThrow(/invalid robot name/);
  });

  it('refuses duplicate, malformed and reserved names and short passwords', async () => {
    await expect(identities.create({ name: 'alice', kind: 'user', secret: 'another-pass' })).rejects.toThrow(/already exists/);
    await expect(identities.create({ name: 'Alice', kind: 'user', secret: 'another-pass' })).rejects.toThrow(/invalid user name/);
    await expect(identities.create({ name: 'anonymous', kind: 'user', secret: 'another-pass' })).rejects.toThrow(/invalid user name/);
    await expect(identities.create({ name: 'robot$x', kind: 'user', secret: 'another-pass' })).rejects.toThrow(/invalid user name/);
    await expect(identities.create({ name: 'bob', kind: 'user', secret: 'short' })).rejects.toThrow(/at least 8/);
  });
});

describe('Projects and Authorisation', () => {
  it('maps repositories to projects; one-segment names belong to library', () => {
    expect(projectOf('team/app')).toBe('team');
    expect(projectOf('team/a/b')).toBe('team');
    expect(projectOf('busybox')).toBe('library');
  });

  it('keeps memberships on both sides, and grants by role', async () => {
    await projects.create('team');
    await identities.create({ name: 'wendy', kind: 'user', secret: 'wendy-password' });
    await projects.addMember('team', 'wendy', 'writer');
    await projects.addMember('team', 'alice', 'reader');
    expect(await projects.members('team')).toEqual([
      { name: 'alice', role: 'reader' },
      { name: 'wendy', role: 'writer' },
    ]);
    expect(await projects.memberships('wendy')).toEqual([{ project: 'team', role: 'writer' }]);
    const authorisation = new Authorisation(projects);
    expect(await authorisation.allowedActions('wendy', 'team')).toEqual(['pull', 'push']);
    expect(await authorisation.allowedActions('alice', 'team')).toEqual(['pull']);
    expect(await authorisation.allowedActions('wendy', 'elsewhere')).toEqual([]);
    expect(await authorisation.allowedActions('admin', 'elsewhere')).toEqual(['pull', 'push', 'delete']);

    await projects.addMember('team', 'wendy', 'admin');
    expect(await authorisation.allowedActions('wendy', 'team')).toEqual(['pull', 'push', 'delete']);
    expect(await projects.removeMember('team', 'wendy')).toBe(true);
    expect(await projects.memberships('wendy')).toEqual([]);
    expect(await authorisation.allowedActions('wendy', 'team')).toEqual([]);
    await expect(projects.addMember('ghost', 'wendy', 'reader')).rejects.toThrow(/no project named ghost/);
  });
});

describe('bootstrapAuth', () => {
  it('without a password: no admin (reported), library created; with one: admin created once, never overwritten', async () => {
    const sub = new SqliteTable(join(dir, 'boot.db'));
    try {
      const ids = new Identities({ table: sub, now: Date.now });
      const prj = new Projects({ table: sub, now: Date.now });
      expect(await bootstrapAuth({ identities: ids, projects: prj, adminPassword: undefined })).toBe('admin-missing');
      expect(await prj.get('library')).toMatchObject({ name: 'library', anonymousPull: false });
      expect(await ids.get('admin')).toBeUndefined();
      expect(await bootstrapAuth({ identities: ids, projects: prj, adminPassword: 'first-admin-pw' })).toBe('admin-created');
      expect(await bootstrapAuth({ identities: ids, projects: prj, adminPassword: 'second-admin-pw' })).toBe('admin-exists');
      expect((await ids.authenticate('admin', 'first-admin-pw')).ok).toBe(true);
      expect((await ids.authenticate('admin', 'second-admin-pw')).ok).toBe(false);
    } finally {
      await sub.close();
    }
  });
});
