/**
 * Runs the GC state machine locally: the ASL definition synthesised from
 * infra/constructs/gc-state-machine.ts (checked in as infra/generated/gc.asl.json, kept equal to
 * a fresh synthesis by test/gc/definition.test.ts), executed by aws-local-stepfunctions with each
 * Task state bound to the handler of the Lambda function it names (functions/gc-*), built over
 * the given store. `cirrus gc`, the tests and the benchmark all go through here.
 */
import { readFileSync } from 'node:fs';
import { StateMachine } from 'aws-local-stepfunctions';
import { createHandler as finishHandler } from '../functions/gc-finish/index.ts';
import { createHandler as markHandler } from '../functions/gc-mark/index.ts';
import { createHandler as startHandler } from '../functions/gc-start/index.ts';
import { createHandler as sweepHandler } from '../functions/gc-sweep/index.ts';
import type { GcDeps, GcInput, GcResult } from '../core/registry/gc/index.ts';

export const GC_DEFINITION_PATH = new URL('../infra/generated/gc.asl.json', import.meta.url);

/** The placeholder ARN the checked-in definition names each task function by. */
export const GC_FUNCTION_ARN = (role: GcRole) => `arn:aws:lambda:us-east-1:123456789012:function:cirrus-gc-${role}`;
export const GC_ROLES = ['start', 'mark', 'sweep', 'finish'] as const;
export type GcRole = (typeof GC_ROLES)[number];

type Json = unknown;
type Definition = { States: Record<string, StateDef> };
type StateDef = { Type: string; Resource?: string; ItemProcessor?: Definition; Iterator?: Definition };

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
  const handlers: Record<GcRole, (input: never) => Promise<Json>> = {
    start: startHandler(deps),
    mark: markHandler(deps),
    sweep: sweepHandler(deps),
    finish: finishHandler(deps),
  };
  const bound: Record<string, (input: Json) => Promise<Json>> = {};
  const retries: Record<string, number> = {};
  for (const [name, state] of taskStates(definition)) {
    const role = GC_ROLES.find((r) => state.Resource === GC_FUNCTION_ARN(r));
    if (!role) throw new Error(`Task state ${name} names no GC function: ${state.Resource}`);
    bound[name] = async (value) => {
      const started = performance.now();
      const output = await handlers[role](value as never);
      options.observe?.(role, value, output, performance.now() - started);
      return output;
    };
    // A failed page is retried at once locally, not after the deployed machine's back-off.
    retries[name] = 100;
  }
  const machine = new StateMachine(definition as never);
  const execution = machine.run(input as never, { overrides: { taskResourceLocalHandlers: bound as never, retryIntervalOverrides: retries } });
  return (await execution.result) as unknown as GcResult;
}

/** Every Task state, inside Map item processors too. */
export function taskStates(definition: Definition): Array<[string, StateDef]> {
  const out: Array<[string, StateDef]> = [];
  for (const [name, state] of Object.entries(definition.States)) {
    if (state.Type === 'Task') out.push([name, state]);
    const inner = state.ItemProcessor ?? state.Iterator;
    if (inner) out.push(...taskStates(inner));
  }
  return out;
}
