/**
 * Alarms and a dashboard over the registry's metrics: the function's EMF metrics (namespace
 * `Cirrus`, dimension Service=registry: Requests, ServerErrors, Latency, Errors by OCI code,
 * Redirects, UploadSessions, BytesCommitted by project), Lambda's and DynamoDB's own, the bucket's
 * daily size, and the upload service's load balancer.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

export interface ObservabilityProps {
  namespace: string;
  /** The Service dimension the function writes. */
  service: string;
  fn: lambda.IFunction;
  table: dynamodb.ITable;
  bucket: s3.IBucket;
  /** Bytes the bucket may hold; the alarm fires at 85 %. */
  storageQuotaBytes: number;
  /** Percentage of 5xx answers (over 5 minutes, with at least 20 requests) that alarms. */
  serverErrorPercent?: number;
  /** p99 latency (ms) over 5 minutes that alarms, three periods in a row. */
  p99LatencyMs?: number;
  uploadTargetGroup?: elbv2.IApplicationTargetGroup;
  uploadBalancer?: elbv2.IApplicationLoadBalancer;
  /** An SNS topic the alarms notify. */
  alarmTopicArn?: string;
  dashboardName?: string;
}

export const STORAGE_ALARM_FRACTION = 0.85;

export class Observability extends Construct {
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const five = Duration.minutes(5);
    const app = (metricName: string, statistic: string, dimensions: Record<string, string> = {}) =>
      new cloudwatch.Metric({ namespace: props.namespace, metricName, dimensionsMap: { Service: props.service, ...dimensions }, statistic, period: five });
    const requests = app('Requests', 'Sum');
    const serverErrors = app('ServerErrors', 'Sum');
    const latencyP99 = app('Latency', 'p99');
    const bucketSize = new cloudwatch.Metric({
      namespace: 'AWS/S3',
      metricName: 'BucketSizeBytes',
      dimensionsMap: { BucketName: props.bucket.bucketName, StorageType: 'StandardStorage' },
      statistic: 'Maximum',
      period: Duration.days(1),
    });
    const lambdaErrors = props.fn.metricErrors({ period: five, statistic: 'Sum' });
    const lambdaThrottles = props.fn.metricThrottles({ period: five, statistic: 'Sum' });
    const tableThrottles = props.table.metricThrottledRequestsForOperations({
      operations: [dynamodb.Operation.GET_ITEM, dynamodb.Operation.PUT_ITEM, dynamodb.Operation.UPDATE_ITEM, dynamodb.Operation.DELETE_ITEM, dynamodb.Operation.QUERY],
      period: five,
    });

    const alarm = (name: string, alarmProps: Omit<cloudwatch.AlarmProps, 'alarmName'>) => {
      const a = new cloudwatch.Alarm(this, name, alarmProps);
      this.alarms.push(a);
      return a;
    };
    alarm('StorageQuota', {
      alarmDescription: `Blob bucket above ${STORAGE_ALARM_FRACTION * 100}% of its quota (${props.storageQuotaBytes} bytes): run GC or raise the quota`,
      metric: bucketSize,
      threshold: Math.floor(props.storageQuotaBytes * STORAGE_ALARM_FRACTION),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm('ServerErrorRate', {
      alarmDescription: 'More than the allowed share of registry answers are 5xx (function crashes included)',
      metric: new cloudwatch.MathExpression({
        expression: 'IF(requests >= 20, 100 * (errors + crashes) / requests, 0)',
        usingMetrics: { requests, errors: serverErrors, crashes: lambdaErrors },
        label: '5xx %',
        period: five,
      }),
      threshold: props.serverErrorPercent ?? 5,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm('LatencyP99', {
      alarmDescription: 'p99 latency of registry answers is high',
      metric: latencyP99,
      threshold: props.p99LatencyMs ?? 3000,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm('FunctionThrottles', {
      alarmDescription: 'The registry function was throttled (account or reserved concurrency)',
      metric: lambdaThrottles,
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm('TableThrottles', {
      alarmDescription: 'DynamoDB throttled the index table',
      metric: tableThrottles,
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (props.uploadTargetGroup && props.uploadBalancer) {
      alarm('UploadService5xx', {
        alarmDescription: 'The upload service (or its load balancer, with no healthy task) answered 5xx',
        metric: new cloudwatch.MathExpression({
          expression: 'target + balancer',
          usingMetrics: {
            target: props.uploadTargetGroup.metrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, { period: five, statistic: 'Sum' }),
            balancer: props.uploadBalancer.metrics.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, { period: five, statistic: 'Sum' }),
          },
          period: five,
        }),
        threshold: 5,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
    if (props.alarmTopicArn) {
      const topic = sns.Topic.fromTopicArn(this, 'AlarmTopic', props.alarmTopicArn);
      for (const a of this.alarms) a.addAlarmAction(new actions.SnsAction(topic));
    }

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { dashboardName: props.dashboardName, defaultInterval: Duration.hours(6) });
    const search = (metric: string, dimension: string, statistic: string) =>
      new cloudwatch.MathExpression({
        expression: `SEARCH('{${props.namespace},Service,${dimension}} MetricName="${metric}" Service="${props.service}"', '${statistic}', 300)`,
        usingMetrics: {},
        label: '',
        period: five,
      });
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({ title: 'Requests and 5xx', left: [requests, serverErrors], right: [lambdaErrors], width: 8 }),
      new cloudwatch.GraphWidget({ title: 'Latency (ms)', left: [app('Latency', 'p50'), latencyP99], width: 8 }),
      new cloudwatch.GraphWidget({ title: 'Errors by OCI code', left: [search('Errors', 'Code', 'Sum')], width: 8 }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({ title: 'Blob redirects and upload sessions', left: [app('Redirects', 'Sum'), app('UploadSessions', 'Sum')], width: 8 }),
      new cloudwatch.GraphWidget({ title: 'Bytes committed by project', left: [search('BytesCommitted', 'Project', 'Sum')], width: 8 }),
      new cloudwatch.GraphWidget({
        title: 'Bucket size (daily) and quota',
        left: [bucketSize],
        leftAnnotations: [{ value: props.storageQuotaBytes * STORAGE_ALARM_FRACTION, label: `${STORAGE_ALARM_FRACTION * 100}% of quota` }],
        width: 8,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({ title: 'Throttles', left: [lambdaThrottles, tableThrottles], width: 8 }),
      new cloudwatch.GraphWidget({ title: 'Function concurrency', left: [props.fn.metric('ConcurrentExecutions', { statistic: 'Maximum', period: five })], width: 8 }),
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 8 }),
    );
  }
}
