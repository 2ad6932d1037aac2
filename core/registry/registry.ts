/** The registry's domain, composed once per host from its two ports and settings. */
import { Blobs } from './blobs.ts';
import { Catalog } from './catalog.ts';
import type { RegistryDeps } from './deps.ts';
import { Manifests } from './manifests.ts';
import { Tags } from './tags.ts';
import { UploadHashes } from './upload-hash.ts';
import { Uploads } from './uploads.ts';

export class Registry {
  readonly blobs: Blobs;
  readonly manifests: Manifests;
  readonly tags: Tags;
  readonly catalog: Catalog;
  readonly uploads: Uploads;

  constructor(readonly deps: RegistryDeps) {
    this.blobs = new Blobs(deps);
    this.manifests = new Manifests(deps);
    this.tags = new Tags(deps);
    this.catalog = new Catalog(deps);
    this.uploads = new Uploads(deps, this.blobs, new UploadHashes(deps.settings.hashMode, deps.settings.uploadTtlSeconds * 1000));
  }
}
