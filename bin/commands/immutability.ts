/** `cirrus immutability set|clear|list`: tags a project lets be pushed once, never moved or deleted. */
import type { Command } from 'commander';
import { TagImmutability } from '../../core/registry/policies/index.ts';
import { formatTable, iso, splitList } from '../cli-io.ts';
import { withStore } from '../cli/session.ts';

export function registerImmutabilityCommands(program: Command): void {
  const immutability = program.command('immutability').description('tags that can be pushed once, never moved or deleted');

  immutability
    .command('set')
    .description("make a project's matching tags immutable")
    .argument('<project>')
    .option('--tags <globs>', "the immutable tags, e.g. 'v*'")
    .option('--except <globs>', "tags that stay mutable, e.g. 'latest,dev-*'")
    .action(
      withStore(async (s, project: string, opts: { tags?: string; except?: string }) => {
        const rule = await new TagImmutability(s).set(project, {
          ...(opts.tags !== undefined ? { immutable: splitList(opts.tags) } : {}),
          ...(opts.except !== undefined ? { except: splitList(opts.except) } : {}),
        });
        await s.audited('immutability.set', { project, immutable: rule.immutable.join(','), except: rule.except.join(',') });
        s.print(rule, () => `immutable tags of ${project}: ${rule.immutable.join(', ')}${rule.except.length ? ` except ${rule.except.join(', ')}` : ''}`);
      }),
    );

  immutability
    .command('clear')
    .description("make a project's tags mutable again")
    .argument('<project>')
    .action(
      withStore(async (s, project: string) => {
        const existed = await new TagImmutability(s).clear(project);
        if (existed) await s.audited('immutability.clear', { project });
        s.print({ project, cleared: existed }, existed ? `tags of ${project} are mutable again` : `no immutability rule for ${project}`);
      }),
    );

  immutability
    .command('list')
    .description('list the immutability rules')
    .action(
      withStore(async (s) => {
        const rules = await new TagImmutability(s).list();
        s.print(rules, () => formatTable(['PROJECT', 'IMMUTABLE', 'EXCEPT', 'UPDATED'], rules.map((r) => [r.project, r.immutable.join(','), r.except.join(',') || '-', iso(r.updatedAt)])));
      }),
    );
}
