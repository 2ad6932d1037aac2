/** Step Functions task: copies one work item (a tag and all it reaches, or a deletion); throws ReplicationRetryable while the remote is down. */
import { Audit } from '../../core/auth/audit.ts';
import { jsonLogger } from '../../core/http/logger.ts';
import { replicationTasks, type ReplicationDeps, type ReplicationRun, type WorkItem } from '../../core/replication/index.ts';
import { awsDeps, awsRegions, lazy } from '../shared/aws-deps.ts';

export function createHandler(deps: ReplicationDeps) {
  const tasks = replicationTasks(deps);
  return (input: { run: ReplicationRun; item: WorkItem }) => tasks.copy(input);
}

export const handler = lazy(() => {
  const deps = awsDeps();
  // Every replicated write is audited with the rule as its actor, as one item and one log line.
  // Written at once, not batched: a task's process may be frozen as soon as its handler returns.
  const log = jsonLogger((line) => process.stdout.write(line));
  const audit = new Audit({ table: deps.table, now: deps.now, log: (event) => log.info('audit', { ...event }) });
  return createHandler({ ...deps, audit, regions: awsRegions() });
});
