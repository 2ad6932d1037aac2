/** What the registry's domain code needs from its host: two ports and a few settings. */
import type { ObjectStore } from '../ports/object-store.ts';
import type { Table } from '../ports/table.ts';

export interface RegistrySettings {
  /** How long an idle upload session lives (seconds). */
  uploadTtlSeconds: number;
  /** Expiry of the signed URLs blob GETs redirect to (seconds). */
  signedUrlSeconds: number;
  /**
   * `fast`: node:crypto hashes, kept in this process between chunks (a session whose hash state
   * died with its process answers BLOB_UPLOAD_UNKNOWN). `resumable`: the SHA-256 state is saved
   * with the session after every request, so any instance can take the next chunk.
   */
  hashMode: 'fast' | 'resumable';
  /** Manifests above this many bytes are stored as objects, not inline in their item. */
  inlineManifestMax: number;
  /** How long an upload's write lease lasts without a heartbeat (ms). */
  writeLeaseMs: number;
}

export const defaultSettings: RegistrySettings = {
  uploadTtlSeconds: 24 * 3600,
  signedUrlSeconds: 300,
  hashMode: 'fast',
  inlineManifestMax: 350 * 1024,
  writeLeaseMs: 15_000,
};

export interface RegistryDeps {
  table: Table;
  objects: ObjectStore;
  settings: RegistrySettings;
  /** Milliseconds since the epoch; injectable so expiry can be tested. */
  now: () => number;
}
