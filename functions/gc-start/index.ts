/** Step Functions task: opens a GC run (run id, mark start, cutoff) from the execution input. */
import { type GcInput, gcTasks, type GcDeps } from '../../core/registry/gc/index.ts';
import { awsDeps, lazy, logDeletion } from '../shared/aws-deps.ts';

export function createHandler(deps: GcDeps) {
  const tasks = gcTasks(deps);
  return (input: GcInput) => tasks.start(input);
}

export const handler = lazy(() => createHandler({ ...awsDeps(), log: logDeletion }));
