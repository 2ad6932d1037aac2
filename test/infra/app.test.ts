/**
 * The whole app as `npx cdk synth -c regions=eu-west-1,us-east-1` builds it (over stub code):
 * a stack per region, the edge function in us-east-1, and cdk-nag's AwsSolutions checks clean,
 * with a written reason for every acknowledgement.
 */
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { synthApp } from './support.ts';

let app: App;
beforeAll(() => {
  ({ app } = synthApp({ regions: 'eu-west-1,us-east-1' }));
});

describe('two regions', () => {
  it('synthesises one registry stack per region, and a us-east-1 stack for the edge function of the other region', () => {
    const assembly = app.synth();
    const stacks = assembly.stacks.map((s) => ({ name: s.stackName, region: s.environment.region }));
    expect(stacks).toEqual(
      expect.arrayContaining([
        { name: 'Cirrus-eu-west-1', region: 'eu-west-1' },
        { name: 'Cirrus-eu-west-1-edge', region: 'us-east-1' },
        { name: 'Cirrus-us-east-1', region: 'us-east-1' },
      ]),
    );
    expect(stacks).toHaveLength(3);
    const template = (name: string) => assembly.getStackByName(name).template as { Resources: Record<string, { Type: string }> };
    const count = (name: string, type: string) => Object.values(template(name).Resources).filter((r) => r.Type === type).length;
    for (const name of ['Cirrus-eu-west-1', 'Cirrus-us-east-1']) {
      expect(count(name, 'AWS::CloudFront::Distribution')).toBe(1);
      expect(count(name, 'AWS::DynamoDB::Table')).toBe(1);
      expect(count(name, 'AWS::S3::Bucket')).toBe(2);
    }
    // In us-east-1 the edge function lives in the stack itself; elsewhere it is read across regions.
    expect(count('Cirrus-us-east-1', 'AWS::Lambda::Version')).toBe(1);
    expect(count('Cirrus-eu-west-1', 'Custom::CrossRegionStringParameterReader')).toBe(1);
  });
});

describe('cdk-nag AwsSolutions', () => {
  it('finds no violation in any stack', () => {
    const report = new AwsSolutionsChecks().validateScope(app);
    expect(report.violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.resourceLogicalId).join(', ')}`)).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('every acknowledgement has a written reason', () => {
    const acknowledged: Array<{ path: string; id: string; reason: string }> = [];
    for (const construct of app.node.findAll()) {
      for (const entry of construct.node.metadata) {
        if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
        for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
          if (id.startsWith('Annotation::AwsSolutions-')) acknowledged.push({ path: construct.node.path, id: id.slice('Annotation::'.length), reason });
        }
      }
    }
    const ids = [...new Set(acknowledged.map((a) => a.id.replace(/<\w+\.Arn>/, '<arn>')))].sort();
    expect(ids).toEqual([
      'AwsSolutions-CFR1',
      'AwsSolutions-CFR2',
      'AwsSolutions-CFR4',
      'AwsSolutions-ECS2',
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      'AwsSolutions-IAM5[Resource::*]',
      'AwsSolutions-IAM5[Resource::<arn>/*]',
      'AwsSolutions-IAM5[Resource::<arn>:*]',
      'AwsSolutions-L1',
      'AwsSolutions-S1',
      'AwsSolutions-SF1',
      'AwsSolutions-SMG4',
    ]);
    for (const a of acknowledged) expect(a.reason.length, `${a.path} ${a.id}`).toBeGreaterThan(40);
  });

  it('has teeth: an unhardened bucket is a violation', () => {
    const bare = new App();
    new s3.Bucket(new Stack(bare, 'Bare'), 'Plain');
    const report = new AwsSolutionsChecks().validateScope(bare);
    expect(report.success).toBe(false);
    expect(report.violations.map((v) => v.ruleName)).toEqual(expect.arrayContaining([expect.stringContaining('AwsSolutions-S1')]));
  });
});
