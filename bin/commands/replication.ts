/**
 * `cirrus replication add|list|remove|pause|resume|run|status`: replication rules, kept in the
 * table and read by the running registry on every trigger (no restart), and runs of the
 * replication state machine from the command line. Credentials come from stdin only and are
 * never printed, logged or audited.
 */
import { Option, type Command } from 'commander';
import { defaultSettings } from '../../core/registry/index.ts';
import { describeRule, ReplicationRules, ReplicationStatus, RuleError, type ReplicationResult, type ReplicationRule, type RuleStatus } from '../../core/replication/index.ts';
import { CliUsageError, formatTable, iso, readSecretFromStdin } from '../cli-io.ts';
import { withStore } from '../cli/session.ts';
import { runReplicationWorkflow } from '../replication-workflow.ts';

type AddOptions = {
  to?: string;
  from?: string;
  username?: string;
  passwordStdin?: boolean;
  repos: string[];
  excludeRepos: string[];
  tags: string[];
  excludeTags: string[];
  destPrefix?: string;
  deletes?: boolean;
  schedule?: string;
  onPush: boolean;
  plainHttp?: boolean;
};

const collect = (value: string, previous: string[]) => [...previous, ...value.split(',').map((v) => v.trim()).filter(Boolean)];

export function registerReplicationCommands(program: Command): void {
  const replication = program.command('replication').description('copy repositories to another registry, or mirror one here');

  replication
    .command('add')
    .description('add a rule: push to a registry (--to) or mirror one into this registry on a schedule (--from)')
    .argument('<name>', 'the rule’s name')
    .addOption(new Option('--to <url>', 'push: the destination registry (https://…, http:// to loopback or with --plain-http), or another Cirrus region as cirrus-region://<table>/<bucket>[?region=<aws-region>] (blobs copied bucket to bucket by S3)').conflicts('from'))
    .addOption(new Option('--from <url>', 'pull: the registry to mirror from').conflicts(['to', 'deletes']))
    .option('--username <user>', 'the remote registry’s account')
    .option('--password-stdin', 'read that account’s password from stdin')
    .option('--repos <glob>', 'repositories to cover (repeatable; default all for --to)', collect, [])
    .option('--exclude-repos <glob>', 'repositories to leave out (repeatable)', collect, [])
    .option('--tags <glob>', 'tags to cover (repeatable; default all)', collect, [])
    .option('--exclude-tags <glob>', 'tags to leave out (repeatable)', collect, [])
    .option('--dest-prefix <prefix>', 'put repositories under this path at the destination')
    .option('--deletes', 'tag and manifest deletions follow (push; without it nothing is deleted at the destination)')
    .option('--schedule <cron>', 'also run on this five-field cron, UTC (required with --from)')
    .option('--no-on-push', 'do not replicate each push as it happens (push)')
    .option('--plain-http', 'allow http:// to a registry that is not on loopback')
    .action(
      withStore(async (s, name: string, opts: AddOptions) => {
        if ((opts.to === undefined) === (opts.from === undefined)) throw new CliUsageError('replication add: one of --to <url> or --from <url>');
        if (opts.passwordStdin && !opts.username) throw new CliUsageError('--password-stdin needs --username');
        const password = opts.passwordStdin ? await readSecretFromStdin() : undefined;
        const direction = opts.to !== undefined ? 'push' : 'pull';
        const rule = await ruleErrors(() =>
          new ReplicationRules(s).add({
            name,
            direction,
            remote: { url: (opts.to ?? opts.from) as string, plainHttp: opts.plainHttp === true, ...(opts.username ? { username: opts.username } : {}) },
            repos: opts.repos,
            excludeRepos: opts.excludeRepos,
            tags: opts.tags,
            excludeTags: opts.excludeTags,
            ...(opts.destPrefix ? { destPrefix: opts.destPrefix } : {}),
            deletes: opts.deletes === true,
            ...(opts.schedule ? { schedule: opts.schedule } : {}),
            onPush: opts.onPush,
            ...(password !== undefined ? { password } : {}),
          }),
        );
        await s.audited('replication.add', { rule: name, direction, remote: rule.remote.url });
        s.print(publicRule(rule), () => `added replication rule ${name}: ${describeRule(rule)}${triggersText(rule)}`);
      }),
    );

  replication
    .command('list')
    .description('list the rules')
    .action(
      withStore(async (s) => {
        const rules = await new ReplicationRules(s).list();
        s.print(
          rules.map(publicRule),
          () => formatTable(['RULE', 'STATE', 'WHAT', 'TRIGGERS'], rules.map((r) => [r.name, r.paused ? 'paused' : 'active', describeRule(r), triggersText(r).replace(/^; /, '')])),
        );
      }),
    );

  replication
    .command('remove')
    .description('remove a rule (nothing is deleted at the destination)')
    .argument('<name>')
    .action(
      withStore(async (s, name: string) => {
        if (!(await new ReplicationRules(s).remove(name))) throw new RuleError(`no replication rule named ${name}`);
        await s.audited('replication.remove', { rule: name });
        s.print({ name, removed: true }, `removed replication rule ${name}`);
      }),
    );

  for (const [verb, paused] of [['pause', true], ['resume', false]] as const) {
    replication
      .command(verb)
      .description(paused ? 'stop triggering the rule (runs in flight stop at their next page)' : 'trigger the rule again (the next reconciliation catches up)')
      .argument('<name>')
      .action(
        withStore(async (s, name: string) => {
          const rule = await new ReplicationRules(s).setPaused(name, paused);
          await s.audited(`replication.${verb}`, { rule: name });
          s.print(publicRule(rule), `replication rule ${name} ${paused ? 'paused' : 'resumed'}`);
        }),
      );
  }

  replication
    .command('run')
    .description('run a rule now: copy what the destination lacks (--backfill: everything it covers, every blob checked)')
    .argument('<name>')
    .option('--backfill', 'copy everything the rule covers, not only what looks out of date')
    .action(
      withStore(async (s, name: string, opts: { backfill?: boolean }) => {
        await new ReplicationRules(s).require(name);
        const result = await runReplicationWorkflow(
          { table: s.table, objects: s.objects, settings: { ...defaultSettings, uploadTtlSeconds: s.config.uploadTtlSeconds }, now: s.now, audit: s.audit, ...(s.regions ? { regions: s.regions } : {}) },
          { rule: name, trigger: opts.backfill ? 'backfill' : 'run' },
        );
        s.print(result, () => runText(result));
        // Exit code 1 when items failed: the result above says which and why.
        if (!result.ok) throw new Error(`${result.totals.failed} of ${result.totals.items} items failed`);
      }),
    );

  replication
    .command('status')
    .description('last run, lag, what was copied, failures with reasons')
    .argument('[name]', 'one rule (default: all)')
    .action(
      withStore(async (s, name: string | undefined) => {
        const rules = name ? [await ruleErrors(() => new ReplicationRules(s).require(name))] : await new ReplicationRules(s).list();
        const statuses = await Promise.all(rules.map((r) => new ReplicationStatus(s).get(r.name)));
        const value = rules.map((r, i) => ({ ...publicRule(r), status: statuses[i] }));
        s.print(name ? value[0] : value, () => rules.map((r, i) => statusText(r, statuses[i] as RuleStatus)).join('\n\n') || '(no rules)');
      }),
    );
}

/** A rule as the CLI shows it: never the secret (the rule object has none; this says so). */
function publicRule(rule: ReplicationRule) {
  return { ...rule, createdAt: iso(rule.createdAt), updatedAt: iso(rule.updatedAt) };
}

function triggersText(rule: ReplicationRule): string {
  const t = [rule.onPush ? 'on push' : '', rule.schedule ? `schedule ${rule.schedule}` : '', rule.deletes ? 'deletes follow' : ''].filter(Boolean);
  return t.length ? `; ${t.join(', ')}` : '';
}

function runText(r: ReplicationResult): string {
  const t = r.totals;
  const lines = [
    `run ${r.runId} of ${r.rule} (${r.trigger}): ${r.ok ? 'ok' : `${t.failed} failed`}; ${t.items} items (${Object.entries(t.outcomes).map(([k, v]) => `${v} ${k}`).join(', ') || 'none'})`,
    `copied ${t.manifests} manifests, ${t.blobs} blobs (${t.mounted} mounted), ${bytes(t.bytes)}${t.resumedBytes ? `, resumed ${bytes(t.resumedBytes)}` : ''}; deleted ${t.deleted}`,
  ];
  for (const f of t.failures) lines.push(`  failed ${f.ref}: ${f.reason}`);
  return lines.join('\n');
}

function statusText(rule: ReplicationRule, st: RuleStatus): string {
  const last = st.lastRun;
  const lines = [`${rule.name} (${rule.paused ? 'paused' : 'active'}) ${describeRule(rule)}${triggersText(rule)}`];
  lines.push(last ? `  last run: ${last.finishedAt} ${last.trigger} ${last.ok ? 'ok' : `FAILED (${last.failed})`}: ${last.items} items, ${last.manifests} manifests, ${last.blobs} blobs, ${bytes(last.bytes)}` : '  last run: never');
  if (st.lastSuccessAt) lines.push(`  last success: ${st.lastSuccessAt}`);
  if (st.lag) lines.push(`  lag: last ${ms(st.lag.last)}, p50 ${ms(st.lag.p50)}, p99 ${ms(st.lag.p99)} (${st.lag.samples} pushes)`);
  lines.push(`  total: ${st.totals.manifests} manifests, ${st.totals.blobs} blobs, ${bytes(st.totals.bytes)}, ${st.totals.deleted} deleted, ${st.totals.failed} failed`);
  for (const f of st.failures.slice(0, 5)) lines.push(`  failure ${f.at} ${f.ref}: ${f.reason}`);
  return lines.join('\n');
}

async function ruleErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof RuleError && /^(rule name|not a|--|a pull|a password|plain http|a registry URL|put credentials)/.test(error.message)) throw new CliUsageError(error.message);
    throw error;
  }
}

function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u += 1;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

function ms(n: number): string {
  return n < 1000 ? `${Math.round(n)} ms` : `${(n / 1000).toFixed(1)} s`;
}
