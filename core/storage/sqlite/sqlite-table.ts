/**
 * `Table` on node:sqlite, the embedded default. One file, WAL mode, so the server and a
 * maintenance command (`cirrus gc`) may use it at once. Conditional writes run inside
 * BEGIN IMMEDIATE, which takes the write lock first, so check and write are atomic across
 * processes as well as within this one (node:sqlite calls are synchronous).
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { ConditionFailedError, type AttributeValue, type Condition, type Item, type QueryOptions, type QueryPage, type Table } from '../../ports/table.ts';
import { conditionHolds } from '../condition.ts';
import { decodeAttributes, encodeAttributes, prefixUpperBound } from '../attribute-codec.ts';
import { loadSqlite } from './load-sqlite.ts';

const MAX_PAGE = 1000;

interface Row {
  pk: string;
  sk: string;
  attrs: string;
}

export class SqliteTable implements Table {
  private readonly db: DatabaseSync;
  private readonly stmts: Record<'get' | 'put' | 'del' | 'query' | 'queryUpper' | 'partitions', StatementSync>;

  constructor(path: string) {
    this.db = new (loadSqlite().DatabaseSync)(path);
    // busy_timeout first: switching a fresh file to WAL takes a lock another process may hold.
    this.db.exec('PRAGMA busy_timeout = 10000;');
    openSchema(this.db);
    this.stmts = {
      get: this.db.prepare('SELECT pk, sk, attrs FROM items WHERE pk = ? AND sk = ?'),
      put: this.db.prepare('INSERT OR REPLACE INTO items (pk, sk, attrs) VALUES (?, ?, ?)'),
      del: this.db.prepare('DELETE FROM items WHERE pk = ? AND sk = ?'),
      query: this.db.prepare('SELECT pk, sk, attrs FROM items WHERE pk = ? AND sk > ? AND sk >= ? ORDER BY sk LIMIT ?'),
      queryUpper: this.db.prepare(
        'SELECT pk, sk, attrs FROM items WHERE pk = ? AND sk > ? AND sk >= ? AND sk < ? ORDER BY sk LIMIT ?',
      ),
      partitions: this.db.prepare('SELECT DISTINCT pk FROM items WHERE pk > ? AND pk >= ? AND pk < ? ORDER BY pk LIMIT ?'),
    };
  }

  async get(pk: string, sk: string): Promise<Item | undefined> {
    return this.read(pk, sk);
  }

  async put(item: Item, condition?: Condition): Promise<void> {
    this.conditionally(item.pk, item.sk, condition, () => {
      this.stmts.put.run(item.pk, item.sk, encodeAttributes(item.attrs));
    });
  }

  async update(pk: string, sk: string, set: { [key: string]: AttributeValue | undefined }, condition?: Condition): Promise<Item> {
    return this.atomically(() => {
      const current = this.read(pk, sk);
      if (!conditionHolds(condition, current)) throw new ConditionFailedError(pk, sk);
      const attrs = { ...(current?.attrs ?? {}) };
      for (const [key, value] of Object.entries(set)) {
        if (value === undefined) delete attrs[key];
        else attrs[key] = value;
      }
      this.stmts.put.run(pk, sk, encodeAttributes(attrs));
      return { pk, sk, attrs };
    });
  }

  async delete(pk: string, sk: string, condition?: Condition): Promise<void> {
    this.conditionally(pk, sk, condition, () => {
      this.stmts.del.run(pk, sk);
    });
  }

  async query(pk: string, options: QueryOptions = {}): Promise<QueryPage> {
    const limit = Math.min(Math.max(options.limit ?? MAX_PAGE, 1), MAX_PAGE);
    const prefix = options.prefix ?? '';
    const after = options.after ?? '';
    const upper = prefixUpperBound(prefix);
    // One extra row tells whether another page exists without a second query.
    const rows = (
      upper === undefined
        ? this.stmts.query.all(pk, after, prefix, limit + 1)
        : this.stmts.queryUpper.all(pk, after, prefix, upper, limit + 1)
    ) as unknown as Row[];
    const items = rows.slice(0, limit).map(toItem);
    const last = items[items.length - 1];
    return rows.length > limit && last ? { items, next: last.sk } : { items };
  }

  async scanPartitions(prefix: string, options: { limit?: number; after?: string } = {}) {
    const limit = Math.min(Math.max(options.limit ?? MAX_PAGE, 1), MAX_PAGE);
    const upper = prefixUpperBound(prefix) ?? '\u{10ffff}';
    const rows = this.stmts.partitions.all(options.after ?? '', prefix, upper, limit + 1) as unknown as Array<{ pk: string }>;
    const keys = rows.slice(0, limit).map((r) => r.pk);
    const last = keys[keys.length - 1];
    return rows.length > limit && last !== undefined ? { keys, next: last } : { keys };
  }

  async close(): Promise<void> {
    if (this.db.isOpen) this.db.close();
  }

  private read(pk: string, sk: string): Item | undefined {
    const row = this.stmts.get.get(pk, sk) as unknown as Row | undefined;
    return row ? toItem(row) : undefined;
  }

  private conditionally(pk: string, sk: string, condition: Condition | undefined, write: () => void): void {
    if (condition === undefined) return write();
    this.atomically(() => {
      if (!conditionHolds(condition, this.read(pk, sk))) throw new ConditionFailedError(pk, sk);
      write();
    });
  }

  private atomically<T>(work: () => T): T {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const result = work();
      this.db.exec('COMMIT');
      return result;
    } catch (error) {
      this.db.exec('ROLLBACK');
      throw error;
    }
  }
}

function toItem(row: Row): Item {
  return { pk: row.pk, sk: row.sk, attrs: decodeAttributes(row.attrs) };
}

const PRAGMAS = 'PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;';
// Only a fresh file takes the write lock: opening an existing table must not queue behind writers.
const CREATE = `
  BEGIN IMMEDIATE;
  CREATE TABLE IF NOT EXISTS items (pk TEXT NOT NULL, sk TEXT NOT NULL, attrs TEXT NOT NULL, PRIMARY KEY (pk, sk)) WITHOUT ROWID;
  COMMIT;
`;
const OPEN_DEADLINE_MS = 10_000;

/**
 * Several processes may open a fresh file at once (the host and a `cirrus` command). SQLite answers
 * some of the lock conflicts of that moment — the switch to WAL while another connection recovers
 * the log, a schema read gone stale before its write — with SQLITE_BUSY at once, without calling
 * the busy handler; those are retried here until a deadline. A missing table is created in an
 * IMMEDIATE transaction, so its schema read and write hold one lock.
 */
function openSchema(db: DatabaseSync): void {
  const deadline = Date.now() + OPEN_DEADLINE_MS;
  for (;;) {
    try {
      db.exec(PRAGMAS);
      if (!db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'items'").get()) db.exec(CREATE);
      return;
    } catch (error) {
      if (db.isTransaction) db.exec('ROLLBACK');
      if (!/database is locked|SQLITE_BUSY/i.test(String(error)) || Date.now() > deadline) throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
}
