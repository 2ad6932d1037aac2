/** Step Functions task: merges the phases' reports into the run's result. */
import { gcTasks, type GcTasks, type GcDeps } from '../../core/registry/gc/index.ts';
import { awsDeps, lazy, logDeletion } from '../shared/aws-deps.ts';

export function createHandler(deps: GcDeps) {
  const tasks = gcTasks(deps);
  return (input: Parameters<GcTasks['finish']>[0]) => tasks.finish(input);
}

export const handler = lazy(() => createHandler({ ...awsDeps(), log: logDeletion }));
