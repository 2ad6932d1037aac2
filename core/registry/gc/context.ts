/**
 * What every phase of a run works with: the ports, the run, its report, and the mark items. The
 * mark set lives in the table (one item per reachable manifest and blob, spread over 16
 * partitions of the run), never in a JS Set: no step holds the registry in memory, and a task
 * that dies is simply run again from its cursor.
 */
import { ConditionFailedError } from '../../ports/table.ts';
import type { RegistryDeps } from '../deps.ts';
import { keys } from '../keys.ts';
import { EXAMPLES, type GcEvent, type GcReport, type GcRun, type ReportKind } from './types.ts';

export interface GcDeps extends RegistryDeps {
  /** Sees every deletion (or, in a dry run, every would-be deletion). */
  log?: (event: GcEvent) => void;
}

export class GcContext {
  constructor(
    readonly deps: GcDeps,
    readonly run: GcRun,
    readonly report: GcReport,
  ) {}

  /** Counts a deletion done (or, in a dry run, one that would be done). */
  record(kind: ReportKind, id: string, bytes = 0): void {
    const counter = this.report.deleted[kind];
    counter.count += 1;
    counter.bytes += bytes;
    if (this.report.examples[kind].length < EXAMPLES) this.report.examples[kind].push(id);
    this.deps.log?.({ runId: this.run.runId, dryRun: this.run.dryRun, kind, id, bytes });
  }

  async markBlob(digest: string): Promise<void> {
    const { pk, sk } = keys.gcBlobMark(this.run.runId, digest);
    await this.deps.table.put({ pk, sk, attrs: {} });
  }

  async isBlobMarked(digest: string): Promise<boolean> {
    const { pk, sk } = keys.gcBlobMark(this.run.runId, digest);
    return (await this.deps.table.get(pk, sk)) !== undefined;
  }

  async markManifest(name: string, digest: string): Promise<void> {
    const { pk, sk } = keys.gcManifestMark(this.run.runId, name, digest);
    await this.deps.table.put({ pk, sk, attrs: {} });
  }

  async isManifestMarked(name: string, digest: string): Promise<boolean> {
    const { pk, sk } = keys.gcManifestMark(this.run.runId, name, digest);
    return (await this.deps.table.get(pk, sk)) !== undefined;
  }

  /**
   * Deletes an item only if nothing referenced it since the cutoff. False when the condition
   * failed: a push touched it after the mark began (or it is gone already). Either way it is not
   * ours to delete.
   */
  async deleteIfUnreferenced(pk: string, sk: string, attr: 'lastRef' | 'linkedAt' = 'lastRef'): Promise<boolean> {
    try {
      await this.deps.table.delete(pk, sk, { kind: 'lessThan', attr, value: this.run.cutoff });
      return true;
    } catch (error) {
      if (error instanceof ConditionFailedError) return false;
      throw error;
    }
  }

  /** Whether an item's reference time is before the cutoff (what deleteIfUnreferenced would do, for dry runs). */
  unreferenced(value: unknown): boolean {
    return value === undefined || value === null || (typeof value === 'number' && value < this.run.cutoff);
  }
}

/** Runs `work` over `items`, at most `limit` at a time (DynamoDB round trips overlap; SQLite does not mind). */
export async function forEachLimit<T>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      await work(items[i] as T, i);
    }
  });
  await Promise.all(lanes);
}
