// The replication state machine is defined once, in infra/constructs/replication-state-machine.ts.
// Synthesised here, its ASL must equal the checked-in copy the local host, the CLI and the tests
// run (regenerate with CIRRUS_UPDATE_ASL=1), and keep to what the local interpreter runs.
import { readFileSync, writeFileSync } from 'node:fs';
import { StateMachine } from 'aws-local-stepfunctions';
import { beforeAll, describe, expect, it } from 'vitest';
import { taskStates } from '../../bin/local-state-machine.ts';
import { REPLICATION_DEFINITION_PATH, REPLICATION_FUNCTION_ARN, REPLICATION_ROLES } from '../../bin/replication-workflow.ts';
import { RETRYABLE_ERROR } from '../../infra/constructs/replication-state-machine.ts';
import { synthReplicationDefinition, type SynthesisedReplication } from './support/synth-replication.ts';

let synthesised: SynthesisedReplication;
beforeAll(() => {
  synthesised = synthReplicationDefinition();
  if (process.env.CIRRUS_UPDATE_ASL === '1') writeFileSync(REPLICATION_DEFINITION_PATH, `${JSON.stringify(synthesised.definition, null, 2)}\n`);
});

type State = { Type: string; Resource?: string; MaxConcurrency?: number; Retry?: Array<{ ErrorEquals: string[]; BackoffRate?: number }>; Catch?: unknown[]; ItemProcessor?: { ProcessorConfig?: { Mode?: string }; States: Record<string, State> } };

describe('the replication state machine definition', () => {
  it('is the checked-in infra/generated/replication.asl.json (CIRRUS_UPDATE_ASL=1 rewrites it)', () => {
    const checkedIn = JSON.parse(readFileSync(REPLICATION_DEFINITION_PATH, 'utf8')) as unknown;
    expect(checkedIn).toEqual(synthesised.definition);
  });

  it('keeps to what aws-local-stepfunctions runs: JSONPath, Lambda tasks, a Choice loop, one inline Map', () => {
    const definition = synthesised.definition as { QueryLanguage?: string; States: Record<string, State> };
    expect(definition.QueryLanguage ?? 'JSONPath').toBe('JSONPath');
    const map = definition.States.Items;
    expect(map?.Type).toBe('Map');
    expect(map?.ItemProcessor?.ProcessorConfig?.Mode).toBe('INLINE');
    expect(map?.MaxConcurrency).toBe(4);
    const tasks = taskStates(synthesised.definition as never);
    expect(tasks.map(([, state]) => state.Resource).sort()).toEqual(REPLICATION_ROLES.map(REPLICATION_FUNCTION_ARN).sort());
    const types = new Set<string>();
    const walk = (states: Record<string, State>) => {
      for (const state of Object.values(states)) {
        types.add(state.Type);
        if (state.ItemProcessor) walk(state.ItemProcessor.States);
      }
    };
    walk(definition.States);
    expect([...types].sort()).toEqual(['Choice', 'Map', 'Pass', 'Task']);
    expect(() => new StateMachine(synthesised.definition as never)).not.toThrow();
  });

  it('retries a copy with back-off while the remote is down, then records the item as failed', () => {
    const copy = (synthesised.definition as { States: Record<string, State> }).States.Items?.ItemProcessor?.States.CopyItem;
    const retry = copy?.Retry?.find((r) => r.ErrorEquals.includes(RETRYABLE_ERROR));
    expect(retry?.BackoffRate).toBeGreaterThan(1);
    expect(copy?.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: 'ItemFailed' }]);
  });

  it('is a Standard state machine with tracing', () => {
    synthesised.template.hasResourceProperties('AWS::StepFunctions::StateMachine', { StateMachineType: 'STANDARD', TracingConfiguration: { Enabled: true } });
  });
});
