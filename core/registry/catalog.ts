/** The repository list: one item per repository in one partition, so listing is a paged query. */
import type { RegistryDeps } from './deps.ts';
import { keys } from './keys.ts';
import { pageOf, type Page } from './paging.ts';

export class Catalog {
  constructor(private readonly deps: RegistryDeps) {}

  async add(name: string): Promise<void> {
    const { pk, sk } = keys.catalog(name);
    if (await this.deps.table.get(pk, sk)) return;
    await this.deps.table.put({ pk, sk, attrs: { createdAt: this.deps.now() } });
  }

  async has(name: string): Promise<boolean> {
    const { pk, sk } = keys.catalog(name);
    return (await this.deps.table.get(pk, sk)) !== undefined;
  }

  async list(limit: number, last: string | undefined, visible: (name: string) => boolean = () => true): Promise<Page<string>> {
    return pageOf(this.deps.table, keys.catalogPartition, '', limit, last, (item) => (visible(item.sk) ? item.sk : undefined));
  }
}
