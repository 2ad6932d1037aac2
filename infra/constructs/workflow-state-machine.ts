/**
 * The shape every Cirrus workflow shares (GC, replication): a Standard state machine of at most a
 * day, traced, logging failures only — each task records what it did in the table or its own log
 * lines, and ALL would log every page transition of a long run to no one's use.
 */
import { Duration } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';

export function workflowStateMachine(scope: Construct, definition: sfn.IChainable): sfn.StateMachine {
  return new sfn.StateMachine(scope, 'StateMachine', {
    definitionBody: sfn.DefinitionBody.fromChainable(definition),
    stateMachineType: sfn.StateMachineType.STANDARD,
    timeout: Duration.hours(24),
    tracingEnabled: true,
    logs: {
      destination: new logs.LogGroup(scope, 'Logs', { retention: logs.RetentionDays.ONE_MONTH }),
      level: sfn.LogLevel.ERROR,
      includeExecutionData: false,
    },
  });
}
