// The SQLite table shared by two processes on one file, as the server and `cirrus gc` share it:
// opening is safe at any moment, and conditional writes stay atomic across processes.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteTable } from '../../core/storage/sqlite/sqlite-table.ts';
import { runJob, type WriterJob, type WriterResult } from './fixtures/sqlite-jobs.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const writerScript = fileURLToPath(new URL('./fixtures/sqlite-writer.ts', import.meta.url));

interface Writer {
  ready: Promise<void>;
  go(): void;
  result: Promise<WriterResult>;
}

/** A writer process: `ready` once it has loaded, `go()` starts its job, `result` when it is done. */
function startWriter(job: WriterJob): Writer {
  const child = spawn(process.execPath, ['--import', 'tsx', '--no-warnings', writerScript, JSON.stringify(job)], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    if (stdout.startsWith('ready\n')) markReady();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const result = new Promise<WriterResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      const line = stdout.split('\n').filter(Boolean).at(-1);
      if (code === 0 && line && line !== 'ready') resolve(JSON.parse(line) as WriterResult);
      else reject(new Error(`writer ${job.id} exited ${code}: ${stderr.trim() || stdout.trim()}`));
    });
  });
  // A writer that dies before it is ready must not leave the test waiting.
  return { ready: Promise.race([ready, result.then(() => {})]), go: () => child.stdin.end('go\n'), result };
}

async function deleteAll(table: SqliteTable, pk: string): Promise<void> {
  for (let page = await table.query(pk); page.items.length > 0; page = await table.query(pk)) {
    for (const item of page.items) await table.delete(pk, item.sk);
  }
}

describe('SqliteTable across processes', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cirrus-sqlite-processes-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('several processes may open a fresh file at the same moment', async () => {
    for (let round = 0; round < 4; round++) {
      const path = join(dir, `fresh-${round}.db`);
      const writers = ['a', 'b', 'c'].map((id) => startWriter({ mode: 'open', path, id }));
      await Promise.all(writers.map((w) => w.ready));
      for (const w of writers) w.go();
      let table: SqliteTable | undefined;
      try {
        table = new SqliteTable(path);
        await runJob(table, { mode: 'open', path, id: 'test' });
        const results = await Promise.allSettled(writers.map((w) => w.result));
        expect(results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
        for (const id of ['a', 'b', 'c', 'test']) {
          expect((await table.query(`open#${id}`)).items.map((i) => i.sk)).toEqual(['x', 'y']);
          await deleteAll(table, `open#${id}`);
        }
      } finally {
        await Promise.allSettled(writers.map((w) => w.result));
        await table?.close();
      }
    }
  });

  it('conditional puts on the same keys from two processes: exactly one winner per key', async () => {
    const path = join(dir, 'claims.db');
    const table = new SqliteTable(path);
    const pk = 'CLAIMS';
    const keys = Array.from({ length: 1500 }, (_, i) => `K#${String(i).padStart(5, '0')}`);
    try {
      // The other process walks the keys backwards, so the two meet (and race) in the middle.
      const writer = startWriter({ mode: 'claim', path, id: 'child', pk, keys: [...keys].reverse() });
      await writer.ready;
      writer.go();
      // Start once the child has claimed its first key (the last one): both are then at work, from
      // opposite ends, whatever the delay of its 'go'. Started blind, a fast machine could finish
      // every key in one process before the other began.
      const deadline = Date.now() + 30_000;
      while (!(await table.get(pk, keys.at(-1)!)) && Date.now() < deadline) await new Promise((r) => setImmediate(r));
      const mine = await runJob(table, { mode: 'claim', path, id: 'test', pk, keys });
      const theirs = await writer.result;
      expect(mine.won.length + mine.conflicts).toBe(keys.length);
      expect(theirs.won.length + theirs.conflicts).toBe(keys.length);
      expect(mine.won.length, 'both processes must have won keys: they really ran together').toBeGreaterThan(0);
      expect(theirs.won.length, 'both processes must have won keys: they really ran together').toBeGreaterThan(0);
      const winners = new Map<string, string[]>();
      for (const [id, result] of [['test', mine], ['child', theirs]] as const) {
        for (const key of result.won) winners.set(key, [...(winners.get(key) ?? []), id]);
      }
      const stored = new Map<string, string>();
      for (let page = await table.query(pk); ; page = await table.query(pk, { after: page.next })) {
        for (const item of page.items) stored.set(item.sk, item.attrs.owner as string);
        if (page.next === undefined) break;
      }
      for (const key of keys) {
        expect(winners.get(key), `winners of ${key}`).toHaveLength(1);
        expect(stored.get(key), `owner of ${key}`).toBe(winners.get(key)?.[0]);
      }
      expect(stored.size).toBe(keys.length);
      await deleteAll(table, pk);
    } finally {
      await table.close();
    }
  });

  it('updates conditioned on a version from two processes never lose an increment', async () => {
    const path = join(dir, 'counter.db');
    const table = new SqliteTable(path);
    const pk = 'COUNTER';
    const increments = 300;
    try {
      const writer = startWriter({ mode: 'increment', path, id: 'child', pk, increments });
      await writer.ready;
      writer.go();
      const mine = await runJob(table, { mode: 'increment', path, id: 'test', pk, increments });
      const theirs = await writer.result;
      const counter = await table.get(pk, 'counter');
      expect(counter?.attrs).toMatchObject({ count: 2 * increments, version: 2 * increments, 'by-test': increments, 'by-child': increments });
      expect(mine.conflicts + theirs.conflicts, 'the processes must have raced: some version checks failed').toBeGreaterThan(0);
      await deleteAll(table, pk);
    } finally {
      await table.close();
    }
  });
});
