// The GC state machine is defined once, in infra/constructs/gc-state-machine.ts. Synthesised here
// in a throwaway stack, its ASL must equal the checked-in copy that `cirrus gc`, the tests and the
// benchmark run (regenerate with CIRRUS_UPDATE_ASL=1), and keep to what the local interpreter runs.
import { readFileSync, writeFileSync } from 'node:fs';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { StateMachine } from 'aws-local-stepfunctions';
import { beforeAll, describe, expect, it } from 'vitest';
import { GC_DEFINITION_PATH, GC_FUNCTION_ARN, GC_ROLES } from '../../bin/gc-workflow.ts';
import { taskStates } from '../../bin/local-state-machine.ts';
import { GcStateMachine } from '../../infra/constructs/gc-state-machine.ts';
import { synthGcDefinition, type SynthesisedGc } from './support/synth-gc.ts';

let synthesised: SynthesisedGc;
beforeAll(() => {
  synthesised = synthGcDefinition();
  if (process.env.CIRRUS_UPDATE_ASL === '1') writeFileSync(GC_DEFINITION_PATH, `${JSON.stringify(synthesised.definition, null, 2)}\n`);
});

describe('the GC state machine definition', () => {
  it('is the checked-in infra/generated/gc.asl.json (CIRRUS_UPDATE_ASL=1 rewrites it)', () => {
    const checkedIn = JSON.parse(readFileSync(GC_DEFINITION_PATH, 'utf8')) as unknown;
    expect(checkedIn).toEqual(synthesised.definition);
  });

  it('keeps to what aws-local-stepfunctions runs: JSONPath, Lambda tasks, Choice loops, one inline Map run one phase at a time', () => {
    const definition = synthesised.definition as { QueryLanguage?: string; States: Record<string, { Type: string; MaxConcurrency?: number; ItemProcessor?: { ProcessorConfig?: { Mode?: string } } }> };
    expect(definition.QueryLanguage ?? 'JSONPath').toBe('JSONPath');
    const map = definition.States.Phases;
    expect(map?.Type).toBe('Map');
    expect(map?.MaxConcurrency).toBe(1);
    expect(map?.ItemProcessor?.ProcessorConfig?.Mode).toBe('INLINE');
    const tasks = taskStates(synthesised.definition as never);
    expect(tasks.map(([, state]) => state.Resource).sort()).toEqual(GC_ROLES.map(GC_FUNCTION_ARN).sort());
    const types = new Set<string>();
    const walk = (states: Record<string, { Type: string; ItemProcessor?: { States: Record<string, never> } }>) => {
      for (const state of Object.values(states)) {
        types.add(state.Type);
        if (state.ItemProcessor) walk(state.ItemProcessor.States);
      }
    };
    walk(definition.States as never);
    expect([...types].sort()).toEqual(['Choice', 'Map', 'Succeed', 'Task']);
    // The interpreter validates the definition (ARNs, paths) when it loads it.
    expect(() => new StateMachine(synthesised.definition as never)).not.toThrow();
  });

  it('is a Standard state machine started by a daily EventBridge rule', () => {
    const { template } = synthesised;
    template.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', { StateMachineType: 'STANDARD', TracingConfiguration: { Enabled: true } });
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'cron(0 3 * * ? *)',
      State: 'ENABLED',
      Targets: [Match.objectLike({ Arn: { Ref: Match.stringLikeRegexp('StateMachine') }, Input: '{}' })],
    });
    // The machine may invoke the four task functions, and nothing else.
    const policies = Object.values(template.findResources('AWS::IAM::Policy')) as Array<{ Properties: { PolicyDocument: { Statement: Array<{ Action: unknown }> } } }>;
    const actions = policies.flatMap((p) => p.Properties.PolicyDocument.Statement.flatMap((s) => s.Action));
    expect(actions.filter((a) => typeof a === 'string' && a.startsWith('lambda:'))).toEqual(expect.arrayContaining(['lambda:InvokeFunction']));
  });

  it('is usable from any stack: another schedule, input, or the schedule off', () => {
    const stack = new Stack(new App(), 'Elsewhere');
    const fn = (id: string) => new lambda.Function(stack, id, { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = async () => ({})') });
    new GcStateMachine(stack, 'Gc', {
      start: fn('S'),
      mark: fn('M'),
      sweep: fn('W'),
      finish: fn('F'),
      schedule: events.Schedule.rate(Duration.hours(6)),
      scheduledInput: { dryRun: true },
      scheduleEnabled: false,
    });
    Template.fromStack(stack).hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(6 hours)', State: 'DISABLED', Targets: [Match.objectLike({ Input: '{"dryRun":true}' })] });
  });
});
