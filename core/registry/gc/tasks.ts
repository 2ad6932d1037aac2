/**
 * The GC workflow's tasks, as plain functions from JSON to JSON: the Lambda handlers in
 * functions/gc-* call them, and so do the local runs of the same state machine (tests, `cirrus
 * gc`). The machine (infra/constructs/gc-state-machine.ts) runs
 *   start → for each phase in order: step until no cursor comes back → finish.
 * Each step does a bounded amount of work and returns a cursor; steps are idempotent, so a
 * retried or re-run step is harmless.
 */
import { randomBytes } from 'node:crypto';
import { ConditionFailedError } from '../../ports/table.ts';
import { keys } from '../keys.ts';
import { cleanupPage } from './cleanup.ts';
import { GcContext, type GcDeps } from './context.ts';
import { markPage } from './mark.ts';
import { sweepBlobsPage } from './sweep-blobs.ts';
import { sweepManifestsPage } from './sweep-manifests.ts';
import { sweepOrphansPage } from './sweep-orphans.ts';
import { sweepUploadsPage } from './sweep-uploads.ts';
import { bytesFreed, emptyReport, mergeReports, PHASES, type GcInput, type GcReport, type GcRun, type Phase } from './types.ts';

export const DEFAULT_GRACE_SECONDS = 24 * 3600;
const DEFAULT_PAGE_SIZE = 100;
const DEFAULT_PAGES_PER_TASK = 200;
/** A step stops taking pages after this long, well inside a Lambda timeout of a few minutes. */
const STEP_BUDGET_MS = 60_000;

export interface StartOutput {
  run: GcRun;
  phases: Phase[];
}

export interface StepState {
  run: GcRun;
  phase: Phase;
  cursor?: unknown;
  report?: GcReport;
}

export interface GcResult {
  runId: string;
  dryRun: boolean;
  markStart: string;
  cutoff: string;
  gracePeriodSeconds: number;
  bytesFreed: number;
  report: GcReport;
}

type Page = (ctx: GcContext, cursor: never) => Promise<unknown>;

const pages: Record<Phase, Page> = {
  mark: markPage,
  manifests: sweepManifestsPage,
  blobs: sweepBlobsPage,
  uploads: sweepUploadsPage,
  orphans: sweepOrphansPage,
  cleanup: cleanupPage,
};

export function gcTasks(deps: GcDeps) {
  return {
    async start(input: GcInput = {}): Promise<StartOutput> {
      const markStart = deps.now();
      const graceSeconds = count(input.gracePeriodSeconds, DEFAULT_GRACE_SECONDS, 'gracePeriodSeconds', 0);
      const run: GcRun = {
        runId: `${new Date(markStart).toISOString().replace(/[-:.]/g, '')}-${randomBytes(3).toString('hex')}`,
        markStart,
        cutoff: markStart - graceSeconds * 1000,
        graceMs: graceSeconds * 1000,
        dryRun: input.dryRun === true,
        pageSize: count(input.pageSize, DEFAULT_PAGE_SIZE, 'pageSize', 1),
        pagesPerTask: count(input.pagesPerTask, DEFAULT_PAGES_PER_TASK, 'pagesPerTask', 1),
      };
      const { pk, sk } = keys.gcRun(run.runId);
      await deps.table.put({ pk, sk, attrs: { markStart, dryRun: run.dryRun, phasesDone: 0 } });
      return { run, phases: [...PHASES] };
    },

    async step(state: StepState): Promise<StepState> {
      const page = pages[state.phase];
      if (!page) throw new TypeError(`unknown GC phase ${JSON.stringify(state.phase)}`);
      const index = PHASES.indexOf(state.phase);
      const runItem = keys.gcRun(state.run.runId);
      // The machine runs phases in order; this check makes any other order a failed run, never a wrong sweep.
      const done = index === PHASES.length - 1 ? index : ((await deps.table.get(runItem.pk, runItem.sk))?.attrs.phasesDone ?? 0);
      if (typeof done !== 'number' || done < index) throw new Error(`GC phase ${state.phase} cannot run before ${PHASES[done as number] ?? 'its predecessors'} is done`);
      const ctx = new GcContext(deps, state.run, state.report ?? emptyReport());
      const deadline = Date.now() + STEP_BUDGET_MS;
      let cursor = state.cursor;
      let taken = 0;
      do {
        cursor = await page(ctx, cursor as never);
        taken += 1;
      } while (cursor !== undefined && taken < state.run.pagesPerTask && Date.now() < deadline);
      const out: StepState = { run: state.run, phase: state.phase, report: ctx.report };
      if (cursor !== undefined) out.cursor = cursor;
      else if (done === index && index < PHASES.length - 1) {
        await deps.table.update(runItem.pk, runItem.sk, { phasesDone: index + 1 }, { kind: 'equals', attr: 'phasesDone', value: index }).catch((error: unknown) => {
          // A retried step found the phase finished already.
          if (!(error instanceof ConditionFailedError)) throw error;
        });
      }
      return out;
    },

    async finish(input: { run: GcRun; reports?: Array<{ report?: GcReport }> }): Promise<GcResult> {
      const report = mergeReports((input.reports ?? []).flatMap((r) => (r.report ? [r.report] : [])));
      return {
        runId: input.run.runId,
        dryRun: input.run.dryRun,
        markStart: new Date(input.run.markStart).toISOString(),
        cutoff: new Date(input.run.cutoff).toISOString(),
        gracePeriodSeconds: input.run.graceMs / 1000,
        bytesFreed: bytesFreed(report),
        report,
      };
    },
  };
}

export type GcTasks = ReturnType<typeof gcTasks>;

function count(value: unknown, fallback: number, name: string, min: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) throw new RangeError(`${name} must be a number ≥ ${min}`);
  return value;
}
