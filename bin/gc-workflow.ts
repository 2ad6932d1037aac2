/**
 * Runs the GC state machine locally: the ASL definition synthesised from
 * infra/constructs/gc-state-machine.ts (checked in as infra/generated/gc.asl.json, kept equal to
 * a fresh synthesis by test/gc/definition.test.ts), executed by aws-local-stepfunctions with each
 * Task state bound to the handler of the Lambda function it names (functions/gc-*), built over
 * the given store. `cirrus gc`, the tests and the benchmark all go through here.
 */
import { readFileSync } from 'node:fs';
import { createHandler as finishHandler } from '../functions/gc-finish/index.ts';
import { createHandler as markHandler } from '../functions/gc-mark/index.ts';
import { createHandler as startHandler } from '../functions/gc-start/index.ts';
import { createHandler as sweepHandler } from '../functions/gc-sweep/index.ts';
import type { GcDeps, GcInput, GcResult } from '../core/registry/gc/index.ts';
import { runLocalStateMachine, type Definition, type Json } from './local-state-machine.ts';

export const GC_DEFINITION_PATH = new URL('../infra/generated/gc.asl.json', import.meta.url);

/** The placeholder ARN the checked-in definition names each task function by. */
export const GC_FUNCTION_ARN = (role: GcRole) => `arn:aws:lambda:us-east-1:123456789012:function:cirrus-gc-${role}`;
export const GC_ROLES = ['start', 'mark', 'sweep', 'finish'] as const;
export type GcRole = (typeof GC_ROLES)[number];

export function loadGcDefinition(): Definition {
  return JSON.parse(readFileSync(GC_DEFINITION_PATH, 'utf8')) as Definition;
}

export interface GcWorkflowOptions {
  definition?: Definition;
  /** Sees every task invocation (benchmarks time the phases with it). */
  observe?: (role: GcRole, input: Json, output: Json, ms: number) => void;
}

export async function runGcWorkflow(deps: GcDeps, input: GcInput = {}, options: GcWorkflowOptions = {}): Promise<GcResult> {
  const definition = options.definition ?? loadGcDefinition();
  const handlers = { start: startHandler(deps), mark: markHandler(deps), sweep: sweepHandler(deps), finish: finishHandler(deps) };
  // A failed page is retried at once locally, not after the deployed machine's back-off.
  return (await runLocalStateMachine({ definition, handlers, arnOf: GC_FUNCTION_ARN, retryIntervalMs: 100, observe: options.observe }, input)) as GcResult;
}
