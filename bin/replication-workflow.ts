/**
 * Runs the replication state machine locally: the ASL definition synthesised from
 * infra/constructs/replication-state-machine.ts (checked in as infra/generated/replication.asl.json,
 * kept equal to a fresh synthesis by test/replication/definition.test.ts), executed by
 * aws-local-stepfunctions with each Task state bound to the handler of the Lambda function it
 * names (functions/replication-*), built over the given store. The local host's triggers,
 * `cirrus replication run` and the tests all go through here.
 */
import { StateMachine } from 'aws-local-stepfunctions';
// Imported, not read from disk: the local host runs from a bundle, where paths beside this file do not exist.
import checkedIn from '../infra/generated/replication.asl.json' with { type: 'json' };
import { createHandler as copyHandler } from '../functions/replication-copy/index.ts';
import { createHandler as finishHandler } from '../functions/replication-finish/index.ts';
import { createHandler as planHandler } from '../functions/replication-plan/index.ts';
import type { ReplicationDeps, ReplicationInput, ReplicationResult } from '../core/replication/index.ts';
import { taskStates } from './gc-workflow.ts';

export const REPLICATION_DEFINITION_PATH = new URL('../infra/generated/replication.asl.json', import.meta.url);

/** The placeholder ARN the checked-in definition names each task function by. */
export const REPLICATION_FUNCTION_ARN = (role: ReplicationRole) => `arn:aws:lambda:us-east-1:123456789012:function:cirrus-replication-${role}`;
export const REPLICATION_ROLES = ['plan', 'copy', 'finish'] as const;
export type ReplicationRole = (typeof REPLICATION_ROLES)[number];

type Json = unknown;
type Definition = { States: Record<string, { Type: string; Resource?: string }> };

export function loadReplicationDefinition(): Definition {
  return checkedIn as unknown as Definition;
}

export interface ReplicationWorkflowOptions {
  definition?: Definition;
  /**
   * Milliseconds between retries, for every retrier of every task, in place of the definition's
   * back-off (the deployed machine waits 5 s, 15 s, 45 s, 135 s while a remote is down); tests shorten it.
   */
  retryIntervalMs?: number;
  observe?: (role: ReplicationRole, input: Json, output: Json, ms: number) => void;
  signal?: AbortSignal;
}

export async function runReplicationWorkflow(deps: ReplicationDeps, input: ReplicationInput, options: ReplicationWorkflowOptions = {}): Promise<ReplicationResult> {
  const definition = options.definition ?? loadReplicationDefinition();
  const handlers: Record<ReplicationRole, (input: never) => Promise<Json>> = {
    plan: planHandler(deps),
    copy: copyHandler(deps),
    finish: finishHandler(deps),
  };
  const bound: Record<string, (input: Json) => Promise<Json>> = {};
  const retries: Record<string, number> = {};
  for (const [name, state] of taskStates(definition as never)) {
    const role = REPLICATION_ROLES.find((r) => state.Resource === REPLICATION_FUNCTION_ARN(r));
    if (!role) throw new Error(`Task state ${name} names no replication function: ${state.Resource}`);
    bound[name] = async (value) => {
      const started = performance.now();
      const output = await handlers[role](value as never);
      options.observe?.(role, value, output, performance.now() - started);
      return output;
    };
    if (options.retryIntervalMs !== undefined) retries[name] = options.retryIntervalMs;
  }
  const machine = new StateMachine(definition as never);
  const execution = machine.run(input as never, { overrides: { taskResourceLocalHandlers: bound as never, retryIntervalOverrides: retries } });
  if (options.signal) options.signal.addEventListener('abort', () => execution.abort(), { once: true });
  return (await execution.result) as unknown as ReplicationResult;
}
