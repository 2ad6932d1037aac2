// The GC state machine's ASL, synthesised from its construct in a throwaway stack: the
// DefinitionString's Fn::Join is resolved with each function's Fn::GetAtt Arn replaced by the
// placeholder ARN the local runner binds (cirrus-gc-<role>).
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { GC_FUNCTION_ARN, GC_ROLES, type GcRole } from '../../../bin/gc-workflow.ts';
import { GcStateMachine } from '../../../infra/constructs/gc-state-machine.ts';

export interface SynthesisedGc {
  definition: Record<string, unknown>;
  template: Template;
}

export function synthGcDefinition(): SynthesisedGc {
  const app = new App();
  const stack = new Stack(app, 'GcDefinition', { env: { account: '123456789012', region: 'us-east-1' } });
  const roleOf = new Map<string, GcRole>();
  const fns = {} as Record<GcRole, lambda.Function>;
  for (const role of GC_ROLES) {
    const fn = new lambda.Function(stack, `Gc${role}`, {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => ({})'),
    });
    fns[role] = fn;
    roleOf.set(stack.getLogicalId(fn.node.defaultChild as lambda.CfnFunction), role);
  }
  new GcStateMachine(stack, 'Gc', fns);
  const template = Template.fromStack(stack);
  const machines = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
  if (machines.length !== 1) throw new Error(`expected one state machine, found ${machines.length}`);
  const body = (machines[0] as { Properties: { DefinitionString: unknown } }).Properties.DefinitionString;
  return { definition: JSON.parse(resolve(body, roleOf)) as Record<string, unknown>, template };
}

function resolve(value: unknown, roleOf: Map<string, GcRole>): string {
  if (typeof value === 'string') return value;
  const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (join) return join[1].map((part) => resolve(part, roleOf)).join(join[0]);
  const getAtt = (value as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt'];
  if (getAtt && getAtt[1] === 'Arn' && roleOf.has(getAtt[0])) return GC_FUNCTION_ARN(roleOf.get(getAtt[0]) as GcRole);
  throw new Error(`cannot resolve ${JSON.stringify(value)} in the definition`);
}
