// Temporary directories for tests, and their removal even when a daemon left mounts inside them.
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * A fresh directory under /tmp. Kept short on purpose: unix socket paths inside it (dockerd,
 * containerd) must stay under 108 bytes.
 */
export function makeTempDir(prefix: string): Promise<string> {
  return mkdtemp(join('/tmp', `cirrus-${prefix}-`));
}

/** Unmounts whatever is mounted at or below `dir` (deepest first), then deletes it. */
export async function removeTree(dir: string): Promise<void> {
  for (const mountPoint of await mountsUnder(dir)) {
    // Lazy: a mount still busy for a moment must not leave the directory behind.
    spawnSync('umount', ['-l', mountPoint], { stdio: 'ignore' });
  }
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
}

async function mountsUnder(dir: string): Promise<string[]> {
  let table: string;
  try {
    table = await readFile('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return table
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((point): point is string => point !== undefined)
    .map((point) => point.replace(/\\(\d{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))))
    .filter((point) => point === dir || point.startsWith(prefix))
    .sort((a, b) => b.length - a.length);
}

/**
 * Runs every cleanup step even when some fail (a crashed registry must not leave dockerd or temp
 * dirs behind), then throws the first failure. Steps may be undefined (never started).
 */
export async function cleanUp(...steps: Array<(() => Promise<unknown>) | undefined>): Promise<void> {
  const results = await Promise.allSettled(steps.map((step) => step?.()));
  const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as unknown);
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) throw new AggregateError(failures, failures.map((f) => String(f)).join('\n\n'));
}
