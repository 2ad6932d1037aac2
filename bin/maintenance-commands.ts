/**
 * The `cirrus` CLI's maintenance commands: garbage collection (the GC state machine, run locally
 * over the store the environment configures, as `npm start` would use it) and the policies it
 * applies (retention per project or repository, tag immutability per project). Safe while the
 * server runs on the same store: SQLite is in WAL mode and GC only deletes under single-item
 * conditions, exactly as the deployed workflow does next to live traffic.
 */
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { Audit } from '../core/auth/index.ts';
import type { GcResult } from '../core/registry/gc/index.ts';
import { REPORT_KINDS } from '../core/registry/gc/index.ts';
import { defaultSettings } from '../core/registry/index.ts';
import { RetentionRules, TagImmutability, type RetentionRule, type RetentionScope } from '../core/registry/policies/index.ts';
import { openBackend } from './backend.ts';
import { CliUsageError, formatTable, iso } from './cli-io.ts';
import { readConfig } from './config.ts';
import { runGcWorkflow } from './gc-workflow.ts';

export const MAINTENANCE_USAGE = `  gc [--dry-run] [--grace-period 24h]          collect what no tag reaches (and expired uploads); a dry run only reports
  retention set --project <p>|--repository <r> [--keep-last N] [--keep-tags 'v*,release-*'] [--untagged-days D]
  retention get|clear --project <p>|--repository <r>
  retention list                               a repository's rule replaces its project's; GC applies them
  immutability set <project> [--tags 'v*'] [--except 'latest,dev-*']   matching tags can be pushed once, never moved or deleted
  immutability clear <project>
  immutability list`;

const COMMANDS = new Set(['gc', 'retention', 'immutability']);

export function isMaintenanceCommand(argv: string[]): boolean {
  return COMMANDS.has(argv.find((a) => !a.startsWith('-')) ?? '');
}

export async function runMaintenanceCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      json: { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
      'grace-period': { type: 'string' },
      project: { type: 'string' },
      repository: { type: 'string' },
      'keep-last': { type: 'string' },
      'keep-tags': { type: 'string' },
      'untagged-days': { type: 'string' },
      tags: { type: 'string' },
      except: { type: 'string' },
    },
  });
  const config = readConfig();
  const backend = await openBackend(config);
  const out = (text: string) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  const json = values.json ?? false;
  try {
    const { table } = backend;
    const now = Date.now;
    const audit = new Audit({ table, now });
    const audited = (action: string, detail: Record<string, string | number | boolean>) =>
      audit.record({ who: `cli:${safeUser()}`, action, result: 'ok', source: 'cli', detail });
    const [group, command, ...args] = positionals;
    switch (`${group} ${command ?? ''}`.trim()) {
      case 'gc': {
        const gracePeriodSeconds = values['grace-period'] === undefined ? undefined : parseGrace(values['grace-period']);
        const result = await runGcWorkflow(
          { table, objects: backend.objects, settings: { ...defaultSettings, uploadTtlSeconds: config.uploadTtlSeconds }, now },
          { dryRun: values['dry-run'], ...(gracePeriodSeconds === undefined ? {} : { gracePeriodSeconds }) },
        );
        if (!result.dryRun) await audited('gc.run', { runId: result.runId, bytesFreed: result.bytesFreed });
        out(json ? JSON.stringify(result) : describe(result));
        return 0;
      }
      case 'retention set': {
        const scope = scopeOf(values);
        const rule: RetentionRule = {};
        if (values['keep-last'] !== undefined) rule.keepLast = integer(values['keep-last'], '--keep-last');
        if (values['keep-tags'] !== undefined) rule.keepTags = list(values['keep-tags']);
        if (values['untagged-days'] !== undefined) rule.untaggedDays = integer(values['untagged-days'], '--untagged-days');
        if (Object.keys(rule).length === 0) throw new CliUsageError('retention set: --keep-last, --keep-tags or --untagged-days');
        const saved = await new RetentionRules({ table, now }).set(scope, rule);
        await audited('retention.set', { ...scopeDetail(scope), rule: JSON.stringify(rule) });
        out(json ? JSON.stringify(saved) : `retention of ${scopeName(scope)}: ${ruleText(saved)}`);
        return 0;
      }
      case 'retention get': {
        const scope = scopeOf(values);
        const rule = await new RetentionRules({ table, now }).get(scope);
        out(json ? JSON.stringify(rule ?? null) : rule ? `retention of ${scopeName(scope)}: ${ruleText(rule)}` : `no retention rule for ${scopeName(scope)}`);
        return 0;
      }
      case 'retention clear': {
        const scope = scopeOf(values);
        const existed = await new RetentionRules({ table, now }).clear(scope);
        if (existed) await audited('retention.clear', scopeDetail(scope));
        out(json ? JSON.stringify({ ...scopeDetail(scope), cleared: existed }) : existed ? `cleared the retention rule of ${scopeName(scope)}` : `no retention rule for ${scopeName(scope)}`);
        return 0;
      }
      case 'retention list': {
        const rules = await new RetentionRules({ table, now }).list();
        out(json ? JSON.stringify(rules) : formatTable(['SCOPE', 'RULE', 'UPDATED'], rules.map((r) => [scopeName(r.scope), ruleText(r), iso(r.updatedAt)])));
        return 0;
      }
      case 'immutability set': {
        const project = arg(args, 0, 'project');
        const rule = await new TagImmutability({ table, now }).set(project, {
          ...(values.tags !== undefined ? { immutable: list(values.tags) } : {}),
          ...(values.except !== undefined ? { except: list(values.except) } : {}),
        });
        await audited('immutability.set', { project, immutable: rule.immutable.join(','), except: rule.except.join(',') });
        out(json ? JSON.stringify(rule) : `immutable tags of ${project}: ${rule.immutable.join(', ')}${rule.except.length ? ` except ${rule.except.join(', ')}` : ''}`);
        return 0;
      }
      case 'immutability clear': {
        const project = arg(args, 0, 'project');
        const existed = await new TagImmutability({ table, now }).clear(project);
        if (existed) await audited('immutability.clear', { project });
        out(json ? JSON.stringify({ project, cleared: existed }) : existed ? `tags of ${project} are mutable again` : `no immutability rule for ${project}`);
        return 0;
      }
      case 'immutability list': {
        const rules = await new TagImmutability({ table, now }).list();
        out(json ? JSON.stringify(rules) : formatTable(['PROJECT', 'IMMUTABLE', 'EXCEPT', 'UPDATED'], rules.map((r) => [r.project, r.immutable.join(','), r.except.join(',') || '-', iso(r.updatedAt)])));
        return 0;
      }
      default:
        throw new CliUsageError(`unknown command: ${positionals.join(' ')}`);
    }
  } finally {
    await backend.table.close?.();
    await backend.close();
  }
}

function describe(result: GcResult): string {
  const verb = result.dryRun ? 'would delete' : 'deleted';
  const rows = REPORT_KINDS.map((kind) => {
    const { count, bytes } = result.report.deleted[kind];
    return [kind, String(count), bytes > 0 ? formatBytes(bytes) : '-', result.report.examples[kind].slice(0, 3).join(' ') || '-'];
  });
  return [
    `GC ${result.runId}${result.dryRun ? ' (dry run)' : ''}: kept what tags, retention and the last ${formatSeconds(result.gracePeriodSeconds)} reach; ${verb}:`,
    formatTable(['KIND', 'COUNT', 'BYTES', 'FOR EXAMPLE'], rows),
    `bytes freed${result.dryRun ? ' (would be)' : ''}: ${formatBytes(result.bytesFreed)}`,
  ].join('\n');
}

/** `0`, `90s`, `30m`, `1h`, `7d`. */
export function parseGrace(text: string): number {
  const m = /^(\d{1,7})([smhd]?)$/.exec(text);
  if (!m) throw new CliUsageError(`--grace-period: expected e.g. 1h, 30m or 7d, got ${text}`);
  return Number(m[1]) * { '': 1, s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as '' | 's' | 'm' | 'h' | 'd'];
}

function scopeOf(values: { project?: string; repository?: string }): RetentionScope {
  if ((values.project === undefined) === (values.repository === undefined)) throw new CliUsageError('one of --project <p> or --repository <r>');
  return values.project !== undefined ? { project: values.project } : { repository: values.repository as string };
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

function integer(text: string, name: string): number {
  if (!/^\d{1,9}$/.test(text)) throw new CliUsageError(`${name}: expected a whole number, got ${text}`);
  return Number(text);
}

function list(text: string): string[] {
  return text.split(',').map((s) => s.trim()).filter(Boolean);
}

function arg(args: string[], i: number, what: string): string {
  const value = args[i];
  if (value === undefined) throw new CliUsageError(`missing <${what}>`);
  return value;
}

function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

function formatSeconds(seconds: number): string {
  if (seconds % 86_400 === 0 && seconds > 0) return `${seconds / 86_400}d`;
  if (seconds % 3600 === 0 && seconds > 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0 && seconds > 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}
