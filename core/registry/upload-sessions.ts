/**
 * Upload session items and their write lease.
 *
 * Every request that writes bytes first claims the session with a conditional write on its
 * `version`; two concurrent chunks cannot both win, and the loser is told 416 before it writes
 * anything. The winner heartbeats the lease while its body streams and releases it with the
 * same write that advances the offset, so the offset moves only when the bytes are stored.
 * A lease whose holder died goes stale after `writeLeaseMs` and can be taken over.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { codes, RegistryError } from '../errors/index.ts';
import { ConditionFailedError, type AttributeValue, type Item } from '../ports/table.ts';
import type { RegistryDeps } from './deps.ts';
import { keys } from './keys.ts';

export interface UploadSession {
  uuid: string;
  repo: string;
  /** Where the blob's bytes go; fixed when the session starts. */
  key: string;
  multipartId?: string;
  /** Bytes acknowledged so far. */
  offset: number;
  /** Bytes covered by the parts written so far; staged chunks hold [partsEnd, offset). */
  partsEnd: number;
  nextPart: number;
  hashState?: Uint8Array;
  expiresAt: number;
  version: number;
  writer?: string;
  writerAt?: number;
}

export type Progress = Pick<UploadSession, 'offset' | 'partsEnd' | 'nextPart' | 'multipartId' | 'hashState'>;

export interface Lease {
  id: string;
  /** The session as this lease holder last wrote it. */
  session: UploadSession;
  release(): Promise<void>;
}

export class UploadSessions {
  constructor(private readonly deps: RegistryDeps) {}

  async create(repo: string): Promise<UploadSession> {
    const uuid = randomUUID();
    const session: UploadSession = {
      uuid,
      repo,
      key: keys.blobObject(uuid),
      offset: 0,
      partsEnd: 0,
      nextPart: 1,
      expiresAt: this.expiry(),
      version: freshVersion(),
    };
    const { pk, sk } = keys.upload(uuid);
    await this.deps.table.put({ pk, sk, attrs: toAttrs(session) }, { kind: 'absent' });
    return session;
  }

  /** The live session of `repo`, or BLOB_UPLOAD_UNKNOWN (absent, expired, or another repository's). */
  async load(repo: string, uuid: string): Promise<UploadSession> {
    if (!/^[0-9a-f-]{36}$/.test(uuid)) throw unknownUpload(uuid);
    const { pk, sk } = keys.upload(uuid);
    const item = await this.deps.table.get(pk, sk);
    const session = item && fromItem(uuid, item);
    // Expiry is enforced here, not left to a store's TTL.
    if (!session || session.repo !== repo || session.expiresAt <= this.deps.now()) throw unknownUpload(uuid);
    return session;
  }

  /** Takes the write lease, or throws 416 when another request holds it or the session moved on. */
  async claim(session: UploadSession): Promise<Lease> {
    const { table, settings, now } = this.deps;
    const held = session.writer !== undefined && now() - (session.writerAt ?? 0) < settings.writeLeaseMs;
    if (held) throw busy(session);
    const id = randomUUID();
    const { pk, sk } = keys.upload(session.uuid);
    try {
      await table.update(pk, sk, { writer: id, writerAt: now(), version: freshVersion() }, { kind: 'equals', attr: 'version', value: session.version });
    } catch (error) {
      if (error instanceof ConditionFailedError) throw busy(session);
      throw error;
    }
    const claimed = { ...session, writer: id };
    const beat = setInterval(() => {
      table.update(pk, sk, { writerAt: now(), version: freshVersion() }, { kind: 'equals', attr: 'writer', value: id }).catch(() => {});
    }, Math.max(100, settings.writeLeaseMs / 3));
    beat.unref();
    let released = false;
    return {
      id,
      session: claimed,
      release: async () => {
        clearInterval(beat);
        if (released) return;
        released = true;
        await table.update(pk, sk, { writer: undefined, writerAt: undefined, version: freshVersion() }, { kind: 'equals', attr: 'writer', value: id }).catch(() => {});
      },
    };
  }

  /**
   * Records progress in one write, conditioned on still holding the lease; `release` also gives
   * the lease up (the end of a request), otherwise it is a checkpoint inside a long request, so a
   * client whose connection drops can resume from the last part stored.
   */
  async advance(lease: Lease, next: Progress, release = true): Promise<UploadSession> {
    const { pk, sk } = keys.upload(lease.session.uuid);
    const session: UploadSession = { ...lease.session, ...next, expiresAt: this.expiry() };
    const holder = release ? { writer: undefined, writerAt: undefined } : { writer: lease.id, writerAt: this.deps.now() };
    try {
      await this.deps.table.update(
        pk,
        sk,
        { ...toAttrs(session), ...holder, version: freshVersion() },
        { kind: 'equals', attr: 'writer', value: lease.id },
      );
    } catch (error) {
      if (error instanceof ConditionFailedError) throw unknownUpload(lease.session.uuid);
      throw error;
    }
    if (!release) lease.session = { ...session, writer: lease.id };
    return { ...session, writer: undefined, writerAt: undefined };
  }

  /** Deletes the session's items: parts and staged chunks first, the session last, so a crash leaves it findable. */
  async remove(uuid: string): Promise<void> {
    const { table } = this.deps;
    const partition = keys.uploadPartition(uuid);
    for (;;) {
      const page = await table.query(partition, { limit: 500 });
      const children = page.items.filter((i) => i.sk !== keys.upload(uuid).sk);
      if (children.length === 0) break;
      await Promise.all(children.map((i) => table.delete(i.pk, i.sk)));
    }
    const { pk, sk } = keys.upload(uuid);
    await table.delete(pk, sk);
  }

  private expiry(): number {
    return this.deps.now() + this.deps.settings.uploadTtlSeconds * 1000;
  }
}

/**
 * Every write to a session gets a new random version, so a claim conditioned on the version it
 * read fails if anything (a heartbeat included) wrote in between.
 */
function freshVersion(): number {
  return randomInt(2 ** 47);
}

function toAttrs(s: UploadSession): { [key: string]: AttributeValue } {
  const attrs: { [key: string]: AttributeValue } = {
    repo: s.repo,
    key: s.key,
    offset: s.offset,
    partsEnd: s.partsEnd,
    nextPart: s.nextPart,
    expiresAt: s.expiresAt,
    version: s.version,
  };
  if (s.multipartId !== undefined) attrs.multipartId = s.multipartId;
  if (s.hashState !== undefined) attrs.hashState = s.hashState;
  if (s.writer !== undefined) attrs.writer = s.writer;
  if (s.writerAt !== undefined) attrs.writerAt = s.writerAt;
  return attrs;
}

function fromItem(uuid: string, item: Item): UploadSession {
  const a = item.attrs;
  return {
    uuid,
    repo: a.repo as string,
    key: a.key as string,
    multipartId: a.multipartId as string | undefined,
    offset: a.offset as number,
    partsEnd: a.partsEnd as number,
    nextPart: a.nextPart as number,
    hashState: a.hashState as Uint8Array | undefined,
    expiresAt: a.expiresAt as number,
    version: a.version as number,
    writer: a.writer as string | undefined,
    writerAt: a.writerAt as number | undefined,
  };
}

export function unknownUpload(uuid: string): RegistryError {
  return new RegistryError(codes.BLOB_UPLOAD_UNKNOWN, { detail: { uuid } });
}

/** The 416 of the spec for a chunk that does not start at the session's offset. */
export function rangeError(session: UploadSession, message: string): RegistryError {
  return new RegistryError(codes.BLOB_UPLOAD_INVALID, {
    status: 416,
    message,
    headers: { Range: rangeHeader(session.offset) },
  });
}

function busy(session: UploadSession): RegistryError {
  return rangeError(session, 'another request is writing to this upload; retry from the offset in Range');
}

/** `0-<last byte>` as Distribution reports it ("0-0" before any byte). */
export function rangeHeader(offset: number): string {
  return `0-${Math.max(offset - 1, 0)}`;
}
