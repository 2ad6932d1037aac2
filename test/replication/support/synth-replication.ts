// The replication state machine's ASL, synthesised from its construct in a throwaway stack, each
// function's Fn::GetAtt Arn replaced by the placeholder ARN the local runner binds.
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { REPLICATION_FUNCTION_ARN, REPLICATION_ROLES, type ReplicationRole } from '../../../bin/replication-workflow.ts';
import { ReplicationStateMachine } from '../../../infra/constructs/replication-state-machine.ts';

export interface SynthesisedReplication {
  definition: Record<string, unknown>;
  template: Template;
}

export function synthReplicationDefinition(): SynthesisedReplication {
  const stack = new Stack(new App(), 'ReplicationDefinition', { env: { account: '123456789012', region: 'us-east-1' } });
  const roleOf = new Map<string, ReplicationRole>();
  const fns = {} as Record<ReplicationRole, lambda.Function>;
  for (const role of REPLICATION_ROLES) {
    const fn = new lambda.Function(stack, `Replication${role}`, {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => ({})'),
    });
    fns[role] = fn;
    roleOf.set(stack.getLogicalId(fn.node.defaultChild as lambda.CfnFunction), role);
  }
  new ReplicationStateMachine(stack, 'Replication', fns);
  const template = Template.fromStack(stack);
  const machines = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
  if (machines.length !== 1) throw new Error(`expected one state machine, found ${machines.length}`);
  const body = (machines[0] as { Properties: { DefinitionString: unknown } }).Properties.DefinitionString;
  return { definition: JSON.parse(resolve(body, roleOf)) as Record<string, unknown>, template };
}

function resolve(value: unknown, roleOf: Map<string, ReplicationRole>): string {
  if (typeof value === 'string') return value;
  const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (join) return join[1].map((part) => resolve(part, roleOf)).join(join[0]);
  const getAtt = (value as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt'];
  if (getAtt && getAtt[1] === 'Arn' && roleOf.has(getAtt[0])) return REPLICATION_FUNCTION_ARN(roleOf.get(getAtt[0]) as ReplicationRole);
  throw new Error(`cannot resolve ${JSON.stringify(value)} in the definition`);
}
