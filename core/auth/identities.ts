/**
 * Accounts: users, and robots (`robot$<name>`, for CI) that expire. Each holds a scrypt hash of
 * its secret, never returned by this module, and an `epoch` that moves with every secret change
 * so refresh tokens issued before it stop working. The user `admin` administers the system.
 */
import { ConditionFailedError, type Attributes, type Item, type Table } from '../ports/table.ts';
import { keys } from '../registry/keys.ts';
import { hashSecret, MAX_SECRET_LENGTH, verifySecret } from './secrets.ts';

export type IdentityKind = 'user' | 'robot';

export interface Identity {
  name: string;
  kind: IdentityKind;
  disabled: boolean;
  /** ms since the epoch */
  createdAt: number;
  /** Robots: ms since the epoch after which the account is refused. */
  expiresAt?: number;
  /** Moves with every secret change. */
  epoch: number;
  createdBy?: string;
}

export type AuthenticationFailure = 'unknown' | 'secret' | 'disabled' | 'expired';

export const SYSTEM_ADMIN = 'admin';
export const ROBOT_PREFIX = 'robot$';
const NAME = /^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$/;
/** Names a user may not take: they would read as something else in tokens and audit lines. */
const RESERVED = new Set(['anonymous', 'cli', 'system']);

export class IdentityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IdentityError';
  }
}

export function isIdentityName(name: string, kind: IdentityKind): boolean {
  if (kind === 'robot') return name.startsWith(ROBOT_PREFIX) && NAME.test(name.slice(ROBOT_PREFIX.length));
  return NAME.test(name) && !RESERVED.has(name);
}

export class Identities {
  constructor(private readonly deps: { table: Table; now: () => number }) {}

  async get(name: string): Promise<Identity | undefined> {
    const item = await this.read(name);
    return item && toIdentity(item);
  }

  async list(limit = 1000, after?: string): Promise<{ entries: Identity[]; next?: string }> {
    const page = await this.deps.table.query(keys.identityPartition, { limit, after });
    return page.next === undefined ? { entries: page.items.map(toIdentity) } : { entries: page.items.map(toIdentity), next: page.next };
  }

  /** Creates an account; refuses a name already taken. */
  async create(input: { name: string; kind: IdentityKind; secret: string; expiresAt?: number; createdBy?: string }): Promise<Identity> {
    if (!isIdentityName(input.name, input.kind)) {
      throw new IdentityError(
        input.kind === 'robot'
          ? `invalid robot name ${JSON.stringify(input.name)}: robot$ then lower-case letters, digits, '.', '_', '-'`
          : `invalid user name ${JSON.stringify(input.name)}: lower-case letters, digits, '.', '_', '-' (at most 64; not anonymous, cli, system)`,
      );
    }
    checkSecret(input.secret);
    const { pk, sk } = keys.identity(input.name);
    const attrs: Attributes = {
      kind: input.kind,
      secretHash: await hashSecret(input.secret),
      epoch: 1,
      disabled: false,
      createdAt: this.deps.now(),
    };
    if (input.expiresAt !== undefined) attrs.expiresAt = input.expiresAt;
    if (input.createdBy !== undefined) attrs.createdBy = input.createdBy;
    try {
      await this.deps.table.put({ pk, sk, attrs }, { kind: 'absent' });
    } catch (error) {
      if (error instanceof ConditionFailedError) throw new IdentityError(`${input.name} already exists`);
      throw error;
    }
    return toIdentity({ pk, sk, attrs });
  }

  /** Replaces the secret and moves the epoch (refresh tokens issued before stop working). */
  async setSecret(name: string, secret: string): Promise<Identity> {
    checkSecret(secret);
    const current = await this.required(name);
    const { pk, sk } = keys.identity(name);
    const epoch = Number(current.attrs.epoch ?? 0);
    try {
      const item = await this.deps.table.update(pk, sk, { secretHash: await hashSecret(secret), epoch: epoch + 1 }, { kind: 'equals', attr: 'epoch', value: epoch });
      return toIdentity(item);
    } catch (error) {
      if (error instanceof ConditionFailedError) throw new IdentityError(`${name} changed meanwhile; try again`);
      throw error;
    }
  }

  async setDisabled(name: string, disabled: boolean): Promise<Identity> {
    await this.required(name);
    const { pk, sk } = keys.identity(name);
    return toIdentity(await this.deps.table.update(pk, sk, { disabled }, { kind: 'exists' }));
  }

  /** Removes the account; its memberships are the caller's to remove first (Projects.removeAll). */
  async delete(name: string): Promise<void> {
    await this.required(name);
    const { pk, sk } = keys.identity(name);
    await this.deps.table.delete(pk, sk);
  }

  /**
   * Checks a name and secret. The secret is hashed whether or not the account exists, so the
   * answer's timing does not tell which names exist.
   */
  async authenticate(name: string, secret: string): Promise<{ ok: true; identity: Identity } | { ok: false; reason: AuthenticationFailure }> {
    const item = name.length <= 128 ? await this.read(name) : undefined;
    const hash = item?.attrs.secretHash;
    const matches = await verifySecret(secret, typeof hash === 'string' ? hash : undefined);
    if (!item) return { ok: false, reason: 'unknown' };
    if (!matches) return { ok: false, reason: 'secret' };
    return this.usable(toIdentity(item));
  }

  /** Refuses disabled and expired accounts (enforced here, on read, whatever a store's TTL does). */
  usable(identity: Identity): { ok: true; identity: Identity } | { ok: false; reason: AuthenticationFailure } {
    if (identity.disabled) return { ok: false, reason: 'disabled' };
    if (identity.expiresAt !== undefined && identity.expiresAt <= this.deps.now()) return { ok: false, reason: 'expired' };
    return { ok: true, identity };
  }

  private read(name: string): Promise<Item | undefined> {
    const { pk, sk } = keys.identity(name);
    return this.deps.table.get(pk, sk);
  }

  private async required(name: string): Promise<Item> {
    const item = await this.read(name);
    if (!item) throw new IdentityError(`no account named ${name}`);
    return item;
  }
}

function checkSecret(secret: string): void {
  if (secret.length < 8) throw new IdentityError('a password must have at least 8 characters');
  if (secret.length > MAX_SECRET_LENGTH) throw new IdentityError(`a password must have at most ${MAX_SECRET_LENGTH} characters`);
}

function toIdentity(item: Item): Identity {
  const a = item.attrs;
  const identity: Identity = {
    name: item.sk,
    kind: a.kind === 'robot' ? 'robot' : 'user',
    disabled: a.disabled === true,
    createdAt: Number(a.createdAt ?? 0),
    epoch: Number(a.epoch ?? 0),
  };
  if (typeof a.expiresAt === 'number') identity.expiresAt = a.expiresAt;
  if (typeof a.createdBy === 'string') identity.createdBy = a.createdBy;
  return identity;
}
