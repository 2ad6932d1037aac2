/** `cirrus retention set|get|clear|list`: what GC keeps per project or repository. */
import { Option, type Command } from 'commander';
import { RetentionRules, type RetentionRule, type RetentionScope } from '../../core/registry/policies/index.ts';
import { CliUsageError, formatTable, iso, splitList, wholeNumber } from '../cli-io.ts';
import { withStore } from '../cli/session.ts';

type ScopeOptions = { project?: string; repository?: string };

export function registerRetentionCommands(program: Command): void {
  const retention = program
    .command('retention')
    .description("what GC keeps: a repository's rule replaces its project's");
  const scoped = (command: Command) =>
    command
      .addOption(new Option('--project <project>', 'the rule of a project').conflicts('repository'))
      .addOption(new Option('--repository <repository>', 'the rule of one repository').conflicts('project'));

  scoped(retention.command('set').description('set the retention rule of a project or repository'))
    .option('--keep-last <n>', 'keep the last N tags (by push time)')
    .option('--keep-tags <globs>', "keep tags matching these globs, e.g. 'v*,release-*'")
    .option('--untagged-days <d>', 'keep untagged manifests D days')
    .action(
      withStore(async (s, opts: ScopeOptions & { keepLast?: string; keepTags?: string; untaggedDays?: string }) => {
        const scope = scopeOf(opts);
        const rule: RetentionRule = {};
        if (opts.keepLast !== undefined) rule.keepLast = wholeNumber(opts.keepLast, '--keep-last');
        if (opts.keepTags !== undefined) rule.keepTags = splitList(opts.keepTags);
        if (opts.untaggedDays !== undefined) rule.untaggedDays = wholeNumber(opts.untaggedDays, '--untagged-days');
        if (Object.keys(rule).length === 0) throw new CliUsageError('retention set: --keep-last, --keep-tags or --untagged-days');
        const saved = await new RetentionRules(s).set(scope, rule);
        await s.audited('retention.set', { ...scopeDetail(scope), rule: JSON.stringify(rule) });
        s.print(saved, () => `retention of ${scopeName(scope)}: ${ruleText(saved)}`);
      }),
    );

  scoped(retention.command('get').description('show the retention rule of a project or repository')).action(
    withStore(async (s, opts: ScopeOptions) => {
      const scope = scopeOf(opts);
      const rule = await new RetentionRules(s).get(scope);
      s.print(rule ?? null, () => (rule ? `retention of ${scopeName(scope)}: ${ruleText(rule)}` : `no retention rule for ${scopeName(scope)}`));
    }),
  );

  scoped(retention.command('clear').description('remove the retention rule of a project or repository')).action(
    withStore(async (s, opts: ScopeOptions) => {
      const scope = scopeOf(opts);
      const existed = await new RetentionRules(s).clear(scope);
      if (existed) await s.audited('retention.clear', scopeDetail(scope));
      s.print({ ...scopeDetail(scope), cleared: existed }, existed ? `cleared the retention rule of ${scopeName(scope)}` : `no retention rule for ${scopeName(scope)}`);
    }),
  );

  retention
    .command('list')
    .description('list the retention rules')
    .action(
      withStore(async (s) => {
        const rules = await new RetentionRules(s).list();
        s.print(rules, () => formatTable(['SCOPE', 'RULE', 'UPDATED'], rules.map((r) => [scopeName(r.scope), ruleText(r), iso(r.updatedAt)])));
      }),
    );
}

function scopeOf(opts: ScopeOptions): RetentionScope {
  if ((opts.project === undefined) === (opts.repository === undefined)) throw new CliUsageError('one of --project <p> or --repository <r>');
  return opts.project !== undefined ? { project: opts.project } : { repository: opts.repository as string };
}

function scopeName(scope: RetentionScope): string {
  return 'project' in scope ? `project ${scope.project}` : `repository ${scope.repository}`;
}

function scopeDetail(scope: RetentionScope): Record<string, string> {
  return 'project' in scope ? { project: scope.project } : { repository: scope.repository };
}

function ruleText(rule: RetentionRule): string {
  const parts = [];
  if (rule.keepLast !== undefined) parts.push(`keep the last ${rule.keepLast} tags`);
  if (rule.keepTags !== undefined) parts.push(`keep tags ${rule.keepTags.join(', ')}`);
  if (rule.untaggedDays !== undefined) parts.push(`keep untagged manifests ${rule.untaggedDays} days`);
  return parts.join('; ');
}
