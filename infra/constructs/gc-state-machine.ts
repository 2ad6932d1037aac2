/**
 * The GC workflow (DESIGN §6), defined once: a Standard state machine of Lambda tasks, JSONPath,
 * Choice loops and one inline Map (the subset aws-local-stepfunctions runs, so tests and
 * `cirrus gc` execute this very definition; no Distributed Map), and an EventBridge rule that
 * starts it on a schedule.
 *
 *   Begin (start) ─> Phases: inline Map over $.phases, one at a time, in order
 *                      Route ─ mark ──> MarkPage (mark) ──> MoreToMark? ──┐ cursor: again
 *                            └ other ─> SweepPage (sweep) ─> MoreToSweep? ─┤ no cursor: PhaseDone
 *                  ─> Finish (finish): the merged report (what went, or would go in a dry run, and the bytes)
 *
 * Every task returns a cursor while work remains, so no invocation runs long and no state holds
 * more than a cursor and counters. Input: `{ "dryRun": true, "gracePeriodSeconds": 3600 }`, all
 * optional (a real run keeping 24 h of grace by default).
 */
import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { workflowStateMachine } from './workflow-state-machine.ts';

export interface GcStateMachineProps {
  /** functions/gc-start: opens a run (run id, mark start, cutoff). */
  start: lambda.IFunction;
  /** functions/gc-mark: retention and marking, a page at a time. */
  mark: lambda.IFunction;
  /** functions/gc-sweep: the sweep phases and cleanup, a page at a time. */
  sweep: lambda.IFunction;
  /** functions/gc-finish: merges the phases' reports. */
  finish: lambda.IFunction;
  /** When scheduled runs start (default: daily at 03:00 UTC). */
  schedule?: events.Schedule;
  /** Input of scheduled runs (default `{}`: a real run with the default grace period). */
  scheduledInput?: Record<string, unknown>;
  /** Whether the schedule is on (default true). */
  scheduleEnabled?: boolean;
}

/** Names of the Task states, which local runs bind to the task functions. */
export const GC_TASK_STATES = { start: 'Begin', mark: 'MarkPage', sweep: 'SweepPage', finish: 'Finish' } as const;

export class GcStateMachine extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly schedule: events.Rule;

  constructor(scope: Construct, id: string, props: GcStateMachineProps) {
    super(scope, id);
    const task = (name: string, fn: lambda.IFunction) =>
      new tasks.LambdaInvoke(this, name, {
        lambdaFunction: fn,
        // The function's own result is the state: a plain Lambda Task (`Resource` = the function ARN).
        payloadResponseOnly: true,
        retryOnServiceExceptions: true,
      }).addRetry({
        // Every step is idempotent from its cursor: a failed page is simply run again.
        errors: ['States.TaskFailed'],
        interval: Duration.seconds(10),
        maxAttempts: 2,
        backoffRate: 3,
      });

    const begin = task(GC_TASK_STATES.start, props.start);
    const markPage = task(GC_TASK_STATES.mark, props.mark);
    const sweepPage = task(GC_TASK_STATES.sweep, props.sweep);
    const finish = task(GC_TASK_STATES.finish, props.finish);
    const phaseDone = new sfn.Succeed(this, 'PhaseDone');
    const more = sfn.Condition.isPresent('$.cursor');
    markPage.next(new sfn.Choice(this, 'MoreToMark').when(more, markPage).otherwise(phaseDone));
    sweepPage.next(new sfn.Choice(this, 'MoreToSweep').when(more, sweepPage).otherwise(phaseDone));
    const route = new sfn.Choice(this, 'Route').when(sfn.Condition.stringEquals('$.phase', 'mark'), markPage).otherwise(sweepPage);

    const phases = new sfn.Map(this, 'Phases', {
      itemsPath: '$.phases',
      // One phase at a time, in order: manifests are swept before blobs, marks removed last.
      maxConcurrency: 1,
      itemSelector: { 'run.$': '$.run', 'phase.$': '$$.Map.Item.Value' },
      resultPath: '$.reports',
    });
    phases.itemProcessor(route);

    this.stateMachine = workflowStateMachine(this, begin.next(phases).next(finish));

    this.schedule = new events.Rule(this, 'Schedule', {
      description: 'Starts the registry garbage collection',
      schedule: props.schedule ?? events.Schedule.cron({ minute: '0', hour: '3' }),
      enabled: props.scheduleEnabled ?? true,
      targets: [new targets.SfnStateMachine(this.stateMachine, { input: events.RuleTargetInput.fromObject(props.scheduledInput ?? {}) })],
    });
  }
}
