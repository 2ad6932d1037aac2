/**
 * `cirrus gc`: the GC state machine, run locally over the store the environment configures.
 * Safe while the server runs on the same store: SQLite is in WAL mode and GC only deletes under
 * single-item conditions, exactly as the deployed workflow does next to live traffic.
 */
import type { Command } from 'commander';
import type { GcResult } from '../../core/registry/gc/index.ts';
import { REPORT_KINDS } from '../../core/registry/gc/index.ts';
import { defaultSettings } from '../../core/registry/index.ts';
import { CliUsageError, formatTable } from '../cli-io.ts';
import { withStore } from '../cli/session.ts';
import { runGcWorkflow } from '../gc-workflow.ts';

export function registerGcCommand(program: Command): void {
  program
    .command('gc')
    .description('collect what no tag reaches (and expired uploads); a dry run only reports')
    .option('--dry-run', 'report what would go, delete nothing')
    .option('--grace-period <duration>', 'keep anything referenced this recently, e.g. 24h, 30m, 7d (default: the workflow’s)')
    .action(
      withStore(async (s, opts: { dryRun?: boolean; gracePeriod?: string }) => {
        const gracePeriodSeconds = opts.gracePeriod === undefined ? undefined : parseGrace(opts.gracePeriod);
        const result = await runGcWorkflow(
          { table: s.table, objects: s.objects, settings: { ...defaultSettings, uploadTtlSeconds: s.config.uploadTtlSeconds }, now: s.now },
          { dryRun: opts.dryRun ?? false, ...(gracePeriodSeconds === undefined ? {} : { gracePeriodSeconds }) },
        );
        if (!result.dryRun) await s.audited('gc.run', { runId: result.runId, bytesFreed: result.bytesFreed });
        s.print(result, () => describe(result));
      }),
    );
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
