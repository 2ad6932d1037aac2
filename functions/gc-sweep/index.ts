/** Step Functions task: one budgeted step of a sweep phase (manifests, blobs, uploads, orphans, cleanup), returning a cursor while work remains. */
import { gcTasks, type StepState, type GcDeps } from '../../core/registry/gc/index.ts';
import { awsDeps, lazy, logDeletion } from '../shared/aws-deps.ts';

export function createHandler(deps: GcDeps) {
  const tasks = gcTasks(deps);
  return (state: StepState) => tasks.step(state);
}

export const handler = lazy(() => createHandler({ ...awsDeps(), log: logDeletion }));
