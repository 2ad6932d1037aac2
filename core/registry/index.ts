export * from './deps.ts';
export * from './keys.ts';
export * from './registry.ts';
export type { BlobInfo } from './blobs.ts';
export type { StoredManifest } from './manifests.ts';
export type { UploadSession } from './upload-sessions.ts';
