/**
 * The replication workflow (DESIGN §6), defined once: a Standard state machine of Lambda tasks,
 * JSONPath, a Choice loop and one inline Map (the subset aws-local-stepfunctions runs, so the
 * local host's triggers, `cirrus replication run` and the tests execute this very definition).
 *
 *   Plan (plan) ─> Items: inline Map over $.items, a few at a time
 *                    CopyItem (copy) ── retried with back-off while the remote is down ──┐
 *                       └─ retries spent ─> ItemFailed (a failed report, kept for status) ┤
 *              ─> MorePages? ── cursor: Plan again (it merges the page's reports) ──────────┘
 *                            └ no cursor: Finish (finish): status, counters, failures
 *
 * Input: `{ "rule": "<name>", "trigger": "push|run|backfill|schedule|reconcile", "changes": [...] }`
 * (`changes` only for push triggers; without it the run walks everything the rule covers).
 */
import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { workflowStateMachine } from './workflow-state-machine.ts';

export interface ReplicationStateMachineProps {
  /** functions/replication-plan: opens the run, then a page of work items at a time. */
  plan: lambda.IFunction;
  /** functions/replication-copy: copies one item. */
  copy: lambda.IFunction;
  /** functions/replication-finish: records the run in the rule's status. */
  finish: lambda.IFunction;
  /** Items copied at once (default 4). */
  concurrency?: number;
}

/** Names of the Task states, which local runs bind to the task functions. */
export const REPLICATION_TASK_STATES = { plan: 'Plan', copy: 'CopyItem', finish: 'Finish' } as const;

/** The error a copy throws when the remote is down or overloaded: retried with back-off. */
export const RETRYABLE_ERROR = 'ReplicationRetryable';

export class ReplicationStateMachine extends Construct {
  readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: ReplicationStateMachineProps) {
    super(scope, id);
    const task = (name: string, fn: lambda.IFunction) =>
      new tasks.LambdaInvoke(this, name, { lambdaFunction: fn, payloadResponseOnly: true, retryOnServiceExceptions: true });

    const plan = task(REPLICATION_TASK_STATES.plan, props.plan).addRetry({
      errors: ['States.TaskFailed'],
      interval: Duration.seconds(5),
      maxAttempts: 3,
      backoffRate: 2,
    });
    const copy = task(REPLICATION_TASK_STATES.copy, props.copy).addRetry({
      // The destination (or source) is down or overloaded: every copy step is idempotent, so try again later.
      errors: [RETRYABLE_ERROR],
      interval: Duration.seconds(5),
      maxAttempts: 4,
      backoffRate: 3,
    });
    const failed = new sfn.Pass(this, 'ItemFailed', {
      parameters: { outcome: 'failed', 'item.$': '$.item', 'cause.$': '$.failure.Cause' },
    });
    copy.addCatch(failed, { errors: ['States.ALL'], resultPath: '$.failure' });

    const items = new sfn.Map(this, 'Items', {
      itemsPath: '$.items',
      maxConcurrency: props.concurrency ?? 4,
      itemSelector: { 'run.$': '$.run', 'item.$': '$$.Map.Item.Value' },
      resultPath: '$.results',
    });
    items.itemProcessor(copy);

    const finish = task(REPLICATION_TASK_STATES.finish, props.finish).addRetry({
      errors: ['States.TaskFailed'],
      interval: Duration.seconds(5),
      maxAttempts: 3,
      backoffRate: 2,
    });
    const more = new sfn.Choice(this, 'MorePages').when(sfn.Condition.isPresent('$.cursor'), plan).otherwise(finish);

    this.stateMachine = workflowStateMachine(this, plan.next(items).next(more));
  }
}
