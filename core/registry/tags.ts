/** Tag listing for the tags API, paged by `(n, last)`. */
import type { RegistryDeps } from './deps.ts';
import { afterPrefix, keys } from './keys.ts';
import { pageOf, type Page } from './paging.ts';

export class Tags {
  constructor(private readonly deps: RegistryDeps) {}

  async list(name: string, limit: number, last: string | undefined): Promise<Page<string>> {
    return pageOf(this.deps.table, keys.repo(name), keys.tagPrefix, limit, last, (item) => afterPrefix(item.sk, keys.tagPrefix));
  }
}
