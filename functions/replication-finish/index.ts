/** Step Functions task: merges the run's reports and records them in the rule's status. */
import { replicationTasks, type ReplicationDeps } from '../../core/replication/index.ts';
import { awsDeps, lazy } from '../shared/aws-deps.ts';

export function createHandler(deps: ReplicationDeps) {
  const tasks = replicationTasks(deps);
  return (state: Parameters<ReturnType<typeof replicationTasks>['finish']>[0]) => tasks.finish(state);
}

export const handler = lazy(() => createHandler(awsDeps()));
