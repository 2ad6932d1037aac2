/**
 * What starts the replication state machine on AWS, each a run over every rule that applies
 * (`rule: "*"`; the plan task picks the rules, reading them from the table at that moment):
 *
 * - on push: the table's change stream (DynamoDB Streams), filtered to tag and manifest items,
 *   through an EventBridge Pipe, batched for up to a second: the batch of records is the input;
 * - schedule: every minute, `{ trigger: "schedule", time }`: rules whose cron names that minute run;
 * - reconciliation: hourly, `{ trigger: "reconcile" }`: every push rule walks source and
 *   destination, repairing any change lost between a write and its event.
 */
import { Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as pipes from 'aws-cdk-lib/aws-pipes';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

export interface ReplicationTriggersProps {
  stateMachine: sfn.IStateMachine;
  /** The registry's table, with a stream (NEW_IMAGE). */
  table: dynamodb.ITable;
  /** How often push rules are reconciled (default hourly). */
  reconcileEvery?: Duration;
}

export class ReplicationTriggers extends Construct {
  readonly onPush: pipes.CfnPipe;
  readonly schedule: events.Rule;
  readonly reconcile: events.Rule;

  constructor(scope: Construct, id: string, props: ReplicationTriggersProps) {
    super(scope, id);
    const { table, stateMachine } = props;
    if (!table.tableStreamArn) throw new Error('replication on push needs the table stream (StreamViewType.NEW_IMAGE)');

    const role = new iam.Role(this, 'PipeRole', { assumedBy: new iam.ServicePrincipal('pipes.amazonaws.com') });
    table.grantStreamRead(role);
    stateMachine.grantStartExecution(role);
    const sortKeyPrefix = (prefix: string) => JSON.stringify({ dynamodb: { Keys: { pk: { S: [{ prefix: 'REPO#' }] }, sk: { S: [{ prefix }] } } } });
    this.onPush = new pipes.CfnPipe(this, 'OnPush', {
      description: 'Cirrus replication: tag and manifest writes start the replication state machine',
      roleArn: role.roleArn,
      source: table.tableStreamArn,
      sourceParameters: {
        dynamoDbStreamParameters: { startingPosition: 'LATEST', batchSize: 100, maximumBatchingWindowInSeconds: 1, maximumRetryAttempts: 10 },
        filterCriteria: { filters: [{ pattern: sortKeyPrefix('TAG#') }, { pattern: sortKeyPrefix('MANIFEST#') }] },
      },
      target: stateMachine.stateMachineArn,
      // Standard machines start asynchronously; the batch (an array of stream records) is the input.
      targetParameters: { stepFunctionStateMachineParameters: { invocationType: 'FIRE_AND_FORGET' } },
    });

    this.schedule = new events.Rule(this, 'Schedule', {
      description: 'Cirrus replication: rules whose cron names this minute',
      schedule: events.Schedule.rate(Duration.minutes(1)),
      targets: [new targets.SfnStateMachine(stateMachine, { input: events.RuleTargetInput.fromObject({ rule: '*', trigger: 'schedule', time: events.EventField.time }) })],
    });
    this.reconcile = new events.Rule(this, 'Reconcile', {
      description: 'Cirrus replication: every push rule compares source and destination',
      schedule: events.Schedule.rate(props.reconcileEvery ?? Duration.hours(1)),
      targets: [new targets.SfnStateMachine(stateMachine, { input: events.RuleTargetInput.fromObject({ rule: '*', trigger: 'reconcile' }) })],
    });
  }
}
