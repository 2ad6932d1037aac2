// A push rule to `url` that matches everything, the starting point each test narrows with `extra`.
import type { NewRule } from '../../../core/replication/index.ts';

export function pushRule(name: string, url: string, extra: Partial<NewRule> = {}): NewRule {
  return {
    name,
    direction: 'push',
    remote: { url, plainHttp: false },
    repos: [],
    excludeRepos: [],
    tags: [],
    excludeTags: [],
    deletes: false,
    onPush: true,
    ...extra,
  };
}
