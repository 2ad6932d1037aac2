/**
 * The audit trail: every write and every denial at the origin, and every identity change made
 * with the CLI, as one table item (one partition per day, newest first) and one JSON log line.
 */
import { randomUUID } from 'node:crypto';
import type { AttributeValue, Attributes, Item, Table } from '../ports/table.ts';
import { keys } from '../registry/keys.ts';

export type AuditResult = 'ok' | 'failed' | 'denied';

export interface AuditEvent {
  /** ms since the epoch */
  at: number;
  /** The account, `anonymous`, or `cli:<os user>`. */
  who: string;
  /** e.g. manifest.put, blob.delete, token.issue, pull, user.create */
  action: string;
  result: AuditResult;
  repository?: string;
  digest?: string;
  /** The HTTP status, for requests. */
  status?: number;
  /** The client's address, when known. */
  source?: string;
  /** Why a request was denied or failed (never a secret). */
  reason?: string;
  /** Anything else worth keeping (tag, mount source, role…). */
  detail?: Record<string, string | number | boolean>;
}

export interface AuditSink {
  record(event: Omit<AuditEvent, 'at'> & { at?: number }): Promise<void>;
}

const DAY_MS = 86_400_000;

export class Audit implements AuditSink {
  /** The last day whose index item this process wrote: one put per day, not one per event. */
  private indexedDay = -1;
  private sequence = 0;

  constructor(private readonly deps: { table: Table; now: () => number; log?: (event: AuditEvent) => void }) {}

  async record(input: Omit<AuditEvent, 'at'> & { at?: number }): Promise<void> {
    const event: AuditEvent = { ...input, at: input.at ?? this.deps.now() };
    this.deps.log?.(event);
    const day = Math.floor(event.at / DAY_MS);
    // The day's index item first: an event is never in a day the listing cannot find.
    if (day !== this.indexedDay) {
      await this.deps.table.put({ ...keys.auditDay(day), attrs: { day } });
      this.indexedDay = day;
    }
    // Within one millisecond, this process's events still list newest first; the random part
    // keeps other processes' events apart.
    const order = String(999_999 - (this.sequence++ % 1_000_000)).padStart(6, '0');
    const { pk, sk } = keys.auditEvent(event.at, `${order}${randomUUID().slice(0, 6)}`);
    await this.deps.table.put({ pk, sk, attrs: toAttributes(event) });
  }

  /**
   * Newest first. `after` is the `next` of the previous page. Days are visited through their
   * index items, so empty days cost nothing.
   */
  async list(options: { limit?: number; after?: string } = {}): Promise<{ events: AuditEvent[]; next?: string }> {
    const limit = Math.max(1, Math.min(options.limit ?? 100, 1000));
    const cursor = parseCursor(options.after);
    const events: AuditEvent[] = [];
    let daysAfter = cursor ? keys.auditDay(cursor.day).sk : undefined;
    let current = cursor;
    for (;;) {
      if (!current) {
        const nextDay = await this.deps.table.query(keys.auditDayPartition, { after: daysAfter, limit: 1 });
        const item = nextDay.items[0];
        if (!item) return { events };
        current = { day: keys.auditDayOf(item.sk), after: undefined };
        daysAfter = item.sk;
      }
      const page = await this.deps.table.query(keys.auditPartition(current.day), { after: current.after, limit: limit - events.length });
      events.push(...page.items.map(fromItem));
      const last = page.items[page.items.length - 1];
      if (events.length >= limit) {
        if (page.next !== undefined && last) return { events, next: `${current.day}:${last.sk}` };
        // The day is exhausted; the next page starts with the day after it (in listing order).
        return (await this.hasDayAfter(current.day)) ? { events, next: `${current.day}:~` } : { events };
      }
      if (page.next !== undefined && last) {
        current = { day: current.day, after: last.sk };
        continue;
      }
      daysAfter = keys.auditDay(current.day).sk;
      current = undefined;
    }
  }

  private async hasDayAfter(day: number): Promise<boolean> {
    return (await this.deps.table.query(keys.auditDayPartition, { after: keys.auditDay(day).sk, limit: 1 })).items.length > 0;
  }
}

function parseCursor(after: string | undefined): { day: number; after: string | undefined } | undefined {
  if (after === undefined) return undefined;
  const m = /^(\d{1,6}):(.{1,64})$/.exec(after);
  if (!m) throw new RangeError('malformed audit cursor');
  // `~` sorts after every event key: the day is done, the listing continues with the next day.
  return { day: Number(m[1]), after: m[2] };
}

function toAttributes(event: AuditEvent): Attributes {
  const attrs: Attributes = {};
  for (const [key, value] of Object.entries(event)) if (value !== undefined) attrs[key] = value as AttributeValue;
  return attrs;
}

function fromItem(item: Item): AuditEvent {
  const a = item.attrs;
  const event: AuditEvent = { at: Number(a.at), who: String(a.who), action: String(a.action), result: a.result as AuditResult };
  if (typeof a.repository === 'string') event.repository = a.repository;
  if (typeof a.digest === 'string') event.digest = a.digest;
  if (typeof a.status === 'number') event.status = a.status;
  if (typeof a.source === 'string') event.source = a.source;
  if (typeof a.reason === 'string') event.reason = a.reason;
  if (a.detail && typeof a.detail === 'object' && !Array.isArray(a.detail) && !(a.detail instanceof Uint8Array)) {
    event.detail = a.detail as Record<string, string | number | boolean>;
  }
  return event;
}
