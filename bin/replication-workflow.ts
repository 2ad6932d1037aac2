/**
 * Runs the replication state machine locally: the ASL definition synthesised from
 * infra/constructs/replication-state-machine.ts (checked in as infra/generated/replication.asl.json,
 * kept equal to a fresh synthesis by test/replication/definition.test.ts), executed by
 * aws-local-stepfunctions with each Task state bound to the handler of the Lambda function it
 * names (functions/replication-*), built over the given store. The local host's triggers,
 * `cirrus replication run` and the tests all go through here.
 */
// Imported, not read from disk: the local host runs from a bundle, where paths beside this file do not exist.
import checkedIn from '../infra/generated/replication.asl.json' with { type: 'json' };
import { createHandler as copyHandler } from '../functions/replication-copy/index.ts';
import { createHandler as finishHandler } from '../functions/replication-finish/index.ts';
import { createHandler as planHandler } from '../functions/replication-plan/index.ts';
import type { ReplicationDeps, ReplicationInput, ReplicationResult } from '../core/replication/index.ts';
import { runLocalStateMachine, type Definition, type Json } from './local-state-machine.ts';

export const REPLICATION_DEFINITION_PATH = new URL('../infra/generated/replication.asl.json', import.meta.url);

/** The placeholder ARN the checked-in definition names each task function by. */
export const REPLICATION_FUNCTION_ARN = (role: ReplicationRole) => `arn:aws:lambda:us-east-1:123456789012:function:cirrus-replication-${role}`;
export const REPLICATION_ROLES = ['plan', 'copy', 'finish'] as const;
export type ReplicationRole = (typeof REPLICATION_ROLES)[number];


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
  const handlers = { plan: planHandler(deps), copy: copyHandler(deps), finish: finishHandler(deps) };
  const { retryIntervalMs, observe, signal } = options;
  return (await runLocalStateMachine({ definition, handlers, arnOf: REPLICATION_FUNCTION_ARN, retryIntervalMs, observe, signal }, input)) as ReplicationResult;
}
