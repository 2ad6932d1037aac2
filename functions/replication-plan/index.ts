/** Step Functions task: opens a replication run (from its input, or a batch of the table's stream records), then hands out its work a page at a time (a cursor while more remains). */
import { replicationTasks, type PlanState, type ReplicationDeps, type StreamRecord } from '../../core/replication/index.ts';
import { awsDeps, awsRegions, lazy } from '../shared/aws-deps.ts';

export function createHandler(deps: ReplicationDeps) {
  const tasks = replicationTasks(deps);
  return (state: PlanState | StreamRecord[]) => tasks.plan(state);
}

export const handler = lazy(() => createHandler({ ...awsDeps(), regions: awsRegions() }));
