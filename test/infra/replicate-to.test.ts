/**
 * `-c replicateTo=<region>`: the replication tasks of each stack may reach the other region's
 * stack (its table and blob bucket, by the names CloudFormation generates for `Cirrus-<region>`),
 * for `cirrus-region://` rules; without it they reach nothing outside their own stack.
 */
import { App, type CfnElement } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { readDeployConfig } from '../../infra/config.ts';
import { OBJECT_ACTIONS, TABLE_ACTIONS } from '../../infra/constructs/bind.ts';
import type { RegistryStack } from '../../infra/registry-stack.ts';
import { synthApp } from './support.ts';

let built: ReturnType<typeof synthApp>;
beforeAll(() => {
  built = synthApp({ regions: 'eu-west-1,us-east-1', replicateTo: 'us-east-1,eu-west-1' });
});

const logicalId = (stack: RegistryStack, resource: { node: { defaultChild?: unknown } }) => stack.getLogicalId(resource.node.defaultChild as CfnElement);
const policyOf = (fn: string) => ({ Roles: [{ Ref: Match.stringLikeRegexp(`^${fn}Role`) }] });

describe('replicateTo', () => {
  it("grants the copy task object writes in the other region's blob bucket and item writes in its table; the plan reads the table", () => {
    const eu = built.stacks['Cirrus-eu-west-1'] as RegistryStack;
    const t = Template.fromStack(eu);
    // The same construct tree in the other stack: the same logical ids under its stack name.
    const bucketPrefix = `cirrus-us-east-1-${logicalId(eu, eu.storage.bucket)}-`.toLowerCase();
    const tablePrefix = `arn:aws:dynamodb:us-east-1:123456789012:table/Cirrus-us-east-1-${logicalId(eu, eu.storage.table)}-`;
    t.hasResourceProperties('AWS::IAM::Policy', {
      ...policyOf('ReplicationCopy'),
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: TABLE_ACTIONS.readWrite, Resource: `${tablePrefix}*` }),
          Match.objectLike({ Action: OBJECT_ACTIONS.readWrite, Resource: `arn:aws:s3:::${bucketPrefix}*/*` }),
          Match.objectLike({ Action: 's3:ListBucket', Resource: `arn:aws:s3:::${bucketPrefix}*` }),
        ]),
      },
    });
    t.hasResourceProperties('AWS::IAM::Policy', {
      ...policyOf('ReplicationPlan'),
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: TABLE_ACTIONS.read, Resource: `${tablePrefix}*` })]) },
    });
    // Never its own region as another one.
    const policies = JSON.stringify(t.findResources('AWS::IAM::Policy'));
    expect(policies).not.toContain('Cirrus-eu-west-1-');
    expect(policies).not.toContain('cirrus-eu-west-1-');
    const us = built.stacks['Cirrus-us-east-1'] as RegistryStack;
    expect(JSON.stringify(Template.fromStack(us).findResources('AWS::IAM::Policy'))).toContain(`arn:aws:s3:::cirrus-eu-west-1-${logicalId(us, us.storage.bucket)}-`.toLowerCase());
  });

  it('without it, no policy names another region', () => {
    const { stacks } = synthApp({ regions: 'eu-west-1' });
    const policies = JSON.stringify(Template.fromStack(stacks['Cirrus-eu-west-1'] as RegistryStack).findResources('AWS::IAM::Policy'));
    expect(policies).not.toMatch(/arn:aws:s3:::cirrus-|table\/Cirrus-/);
  });

  it('cdk-nag finds no violation (each pattern grant acknowledged with its reason)', () => {
    const report = new AwsSolutionsChecks().validateScope(built.app);
    expect(report.violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.resourceLogicalId).join(', ')}`)).toEqual([]);
  });

  it('refuses a name that is no region', () => {
    const app = new App({ context: { replicateTo: 'eu-west-1,mars' } });
    expect(() => readDeployConfig(app.node)).toThrow(/replicateTo: "mars"/);
    expect(readDeployConfig(new App({ context: { replicateTo: 'us-east-1, ap-southeast-2' } }).node).replicateTo).toEqual(['us-east-1', 'ap-southeast-2']);
  });
});
