/**
 * The running SHA-256 of an upload session, carried from one request to the next.
 *
 * `fast` keeps node:crypto's hash (SHA-NI, ~6× hash-wasm here) in this process, keyed by session
 * and offset; a process that did not see the earlier chunks cannot continue the session.
 * `resumable` saves hash-wasm's state with the session after every request, so any process can.
 * A session saved by a resumable host is continued from its state by either mode.
 *
 * Each request works on a copy and publishes it only on success, so a request that dies half way
 * leaves the hash exactly at the last acknowledged offset.
 */
import { createHash, type Hash } from 'node:crypto';
import type { IHasher } from 'hash-wasm';

export interface SessionHash {
  update(chunk: Uint8Array): void;
  /** Hex digest of everything so far. */
  hex(): string;
  /** Makes this state the session's at `offset`; returns the state to save with the session, if any. */
  publish(offset: number): Uint8Array | undefined;
  /** Like publish, for a checkpoint inside a request that goes on hashing. */
  checkpoint(offset: number): Uint8Array | undefined;
}

export class UploadHashes {
  private readonly live = new Map<string, { offset: number; hash: Hash; touched: number }>();

  constructor(private readonly mode: 'fast' | 'resumable', private readonly maxIdleMs = 24 * 3600_000) {}

  /** Undefined when the session's hash state is lost (fast mode, another process or a restart). */
  async open(uuid: string, offset: number, saved: Uint8Array | undefined): Promise<SessionHash | undefined> {
    const entry = this.live.get(uuid);
    if (entry && entry.offset === offset) return this.fast(uuid, entry.hash.copy());
    if (saved) return this.resumable(await loadWasm(saved));
    if (offset !== 0) return undefined;
    if (this.mode === 'resumable') {
      const hasher = await wasmSha256();
      hasher.init();
      return this.resumable(hasher);
    }
    return this.fast(uuid, createHash('sha256'));
  }

  /** Whether `open` would succeed, without opening. */
  canContinue(uuid: string, offset: number, saved: Uint8Array | undefined): boolean {
    return offset === 0 || saved !== undefined || this.live.get(uuid)?.offset === offset;
  }

  forget(uuid: string): void {
    this.live.delete(uuid);
  }

  private fast(uuid: string, hash: Hash): SessionHash {
    return {
      update: (chunk) => void hash.update(chunk),
      hex: () => hash.copy().digest('hex'),
      publish: (offset) => {
        this.sweep();
        this.live.set(uuid, { offset, hash, touched: Date.now() });
        return undefined;
      },
      checkpoint: (offset) => {
        this.live.set(uuid, { offset, hash: hash.copy(), touched: Date.now() });
        return undefined;
      },
    };
  }

  private resumable(hasher: IHasher): SessionHash {
    return {
      update: (chunk) => void hasher.update(chunk),
      hex: () => {
        // hash-wasm's digest() ends the hasher; restore the state so the session can go on.
        const state = hasher.save();
        const hex = hasher.digest('hex');
        hasher.load(state);
        return hex;
      },
      publish: () => hasher.save(),
      checkpoint: () => hasher.save(),
    };
  }

  /** Drops hashes of sessions idle past their expiry, so abandoned uploads do not leak memory. */
  private sweep(): void {
    const oldest = Date.now() - this.maxIdleMs;
    for (const [uuid, entry] of this.live) if (entry.touched < oldest) this.live.delete(uuid);
  }
}

/** hash-wasm (its wasm inlined, ~260 KB of code) loads on a resumable session's first use only. */
async function wasmSha256(): Promise<IHasher> {
  const { createSHA256 } = await import('hash-wasm');
  return createSHA256();
}

async function loadWasm(state: Uint8Array): Promise<IHasher> {
  const hasher = await wasmSha256();
  hasher.load(state);
  return hasher;
}
