/**
 * Runs a workflow's checked-in ASL definition locally with aws-local-stepfunctions, each Task state
 * bound to the handler of the Lambda function its placeholder ARN names — the one way GC and
 * replication execute their deployed definitions on this machine (CLI, local host, tests, benchmarks).
 */
import { StateMachine } from 'aws-local-stepfunctions';

export type Json = unknown;
export type Definition = { States: Record<string, StateDef> };
type StateDef = { Type: string; Resource?: string; ItemProcessor?: Definition; Iterator?: Definition };

export interface LocalRun<Role extends string> {
  definition: Definition;
  /** The task functions, by the role their ARN names. */
  handlers: Record<Role, (input: never) => Promise<Json>>;
  /** The placeholder ARN the definition names a role's function by. */
  arnOf: (role: Role) => string;
  /** Milliseconds between retries, for every retrier of every task, in place of the definition's back-off. */
  retryIntervalMs?: number;
  /** Sees every task invocation (benchmarks time the phases with it). */
  observe?: (role: Role, input: Json, output: Json, ms: number) => void;
  signal?: AbortSignal;
}

export async function runLocalStateMachine<Role extends string>(run: LocalRun<Role>, input: Json): Promise<unknown> {
  const roles = Object.keys(run.handlers) as Role[];
  const bound: Record<string, (input: Json) => Promise<Json>> = {};
  const retries: Record<string, number> = {};
  for (const [name, state] of taskStates(run.definition)) {
    const role = roles.find((r) => state.Resource === run.arnOf(r));
    if (!role) throw new Error(`Task state ${name} names no known function: ${state.Resource}`);
    bound[name] = async (value) => {
      const started = performance.now();
      const output = await run.handlers[role](value as never);
      run.observe?.(role, value, output, performance.now() - started);
      return output;
    };
    if (run.retryIntervalMs !== undefined) retries[name] = run.retryIntervalMs;
  }
  const machine = new StateMachine(run.definition as never);
  const execution = machine.run(input as never, { overrides: { taskResourceLocalHandlers: bound as never, retryIntervalOverrides: retries } });
  run.signal?.addEventListener('abort', () => execution.abort(), { once: true });
  return execution.result;
}

/** Every Task state, inside Map item processors too. */
export function taskStates(definition: Definition): Array<[string, StateDef]> {
  const out: Array<[string, StateDef]> = [];
  for (const [name, state] of Object.entries(definition.States)) {
    if (state.Type === 'Task') out.push([name, state]);
    const inner = state.ItemProcessor ?? state.Iterator;
    if (inner) out.push(...taskStates(inner));
  }
  return out;
}
