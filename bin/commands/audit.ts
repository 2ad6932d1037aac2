/** `cirrus audit`: the audit trail, newest first. */
import type { Command } from 'commander';
import type { AuditEvent } from '../../core/auth/index.ts';
import { CliUsageError, formatTable, iso, shortDigest } from '../cli-io.ts';
import { withStore } from '../cli/session.ts';

export function registerAuditCommand(program: Command): void {
  program
    .command('audit')
    .description('origin denials, writes and CLI changes, newest first')
    .option('--limit <n>', 'events per page, 1..1000', '50')
    .option('--after <cursor>', 'the page after this cursor (printed at the end of the previous page)')
    .action(
      withStore(async (s, opts: { limit: string; after?: string }) => {
        const limit = Number(opts.limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new CliUsageError('--limit must be 1..1000');
        let page: { events: AuditEvent[]; next?: string };
        try {
          page = await s.audit.list({ limit, after: opts.after });
        } catch (error) {
          if (error instanceof RangeError) throw new CliUsageError(error.message);
          throw error;
        }
        if (s.json) return s.print(page, '');
        const rows = page.events.map((e) => [
          iso(e.at),
          e.result,
          e.who,
          e.action,
          e.repository ?? '-',
          e.digest ? shortDigest(e.digest) : '-',
          e.source ?? '-',
          [e.status === undefined ? '' : String(e.status), e.reason ?? '', e.detail ? Object.entries(e.detail).map(([k, v]) => `${k}=${v}`).join(' ') : '']
            .filter(Boolean)
            .join(' '),
        ]);
        s.out(formatTable(['TIME', 'RESULT', 'WHO', 'ACTION', 'REPOSITORY', 'DIGEST', 'SOURCE', 'DETAIL'], rows));
        if (page.next) s.out(`more: cirrus audit --limit ${limit} --after '${page.next}'`);
      }),
    );
}
