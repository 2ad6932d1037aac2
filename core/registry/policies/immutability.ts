/**
 * Tag immutability, per project: a tag matching one of `immutable` and none of `except` (e.g.
 * `latest`) may be created, and re-pushed with the same digest, but never moved to another
 * manifest nor deleted (DENIED, 403). Manifests.put enforces it with a conditional write on the
 * TAG item, so two racing pushes cannot both move it; retention never deletes such a tag.
 */
import { codes, RegistryError } from '../../errors/index.ts';
import type { Item } from '../../ports/table.ts';
import type { RegistryDeps } from '../deps.ts';
import { keys } from '../keys.ts';
import { allItems } from '../paging.ts';
import { isGlob, matchesAny } from './globs.ts';
import { projectOfRepository } from './scope.ts';

export interface ImmutabilityRule {
  /** Globs of the tags that are immutable; `['*']` for all. */
  immutable: string[];
  /** Globs of tags that stay mutable even when `immutable` matches them. */
  except: string[];
}

export interface ProjectImmutability extends ImmutabilityRule {
  project: string;
  updatedAt: number;
}

type Deps = Pick<RegistryDeps, 'table' | 'now'>;

export class TagImmutability {
  constructor(private readonly deps: Deps) {}

  async set(project: string, rule: Partial<ImmutabilityRule>): Promise<ProjectImmutability> {
    const immutable = rule.immutable ?? ['*'];
    const except = rule.except ?? [];
    for (const pattern of [...immutable, ...except]) {
      if (!isGlob(pattern)) throw new RangeError(`not a tag glob: ${JSON.stringify(pattern)} (letters, digits, . _ - and the wildcards * ?)`);
    }
    const { pk, sk } = keys.immutability(project);
    const updatedAt = this.deps.now();
    await this.deps.table.put({ pk, sk, attrs: { immutable, except, updatedAt } });
    return { project, immutable, except, updatedAt };
  }

  async get(project: string): Promise<ProjectImmutability | undefined> {
    const { pk, sk } = keys.immutability(project);
    const item = await this.deps.table.get(pk, sk);
    return item && fromItem(item);
  }

  async clear(project: string): Promise<boolean> {
    const { pk, sk } = keys.immutability(project);
    const existed = (await this.deps.table.get(pk, sk)) !== undefined;
    await this.deps.table.delete(pk, sk);
    return existed;
  }

  async list(): Promise<ProjectImmutability[]> {
    const out: ProjectImmutability[] = [];
    for await (const item of allItems(this.deps.table, keys.immutabilityPartition)) out.push(fromItem(item));
    return out;
  }

  /** A predicate for the repository's tags (one read of its project's rule); undefined when no rule applies. */
  async checker(repository: string): Promise<((tag: string) => boolean) | undefined> {
    const rule = await this.get(projectOfRepository(repository));
    return rule && ((tag) => isImmutable(rule, tag));
  }
}

export function isImmutable(rule: ImmutabilityRule, tag: string): boolean {
  return matchesAny(rule.immutable, tag) && !matchesAny(rule.except, tag);
}

export function immutableTagError(name: string, tag: string, action: 'moved' | 'deleted'): RegistryError {
  return new RegistryError(codes.DENIED, {
    message: `tag ${tag} of ${name} is immutable: it cannot be ${action} (push a new tag instead)`,
    detail: { name, tag },
  });
}

function fromItem(item: Item): ProjectImmutability {
  return {
    project: item.sk,
    immutable: (item.attrs.immutable as string[] | undefined) ?? ['*'],
    except: (item.attrs.except as string[] | undefined) ?? [],
    updatedAt: item.attrs.updatedAt as number,
  };
}
