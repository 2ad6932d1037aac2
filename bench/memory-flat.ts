/**
 * Is the registry's memory flat in blob size? Pushes one 1 GiB and one 4 GiB layer to fresh
 * Cirrus hosts (the main benchmark's push phase, one run each), then prints both peak RSS figures
 * and their ratio. Target: the 4 GiB peak within 20% of the 1 GiB peak. Prints; asserts nothing.
 *
 *   npm run bench:memory [-- --backend aws-local]
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));
const METRIC = 'peak RSS during big push (VmHWM)';

function peakRss(layerMiB: number, extra: string[]): number {
  const before = new Set(safeList());
  const run = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./run.ts', import.meta.url)), '--only', 'cirrus', '--phases', 'push', '--runs', '1', '--layer-mib', String(layerMiB), ...extra], {
    stdio: 'inherit',
  });
  if (run.status !== 0) throw new Error(`benchmark with a ${layerMiB} MiB layer failed (${run.status})`);
  const file = safeList().find((f) => !before.has(f));
  if (!file) throw new Error('the benchmark wrote no result file');
  const result = JSON.parse(readFileSync(join(RESULTS, file), 'utf8')) as { comparison: Array<{ metric: string; cirrus?: number }> };
  const value = result.comparison.find((c) => c.metric === METRIC)?.cirrus;
  if (value === undefined) throw new Error(`no "${METRIC}" in ${file}`);
  return value;
}

function safeList(): string[] {
  try {
    return readdirSync(RESULTS).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
}

const extra = process.argv.slice(2);
const small = peakRss(1024, extra);
const large = peakRss(4096, extra);
const ratio = large / small;
console.log(`\nMemory flat in blob size (Cirrus, ${METRIC}):`);
console.log(`| layer | peak RSS (MB) |\n|---|---|\n| 1 GiB | ${small.toFixed(1)} |\n| 4 GiB | ${large.toFixed(1)} |`);
console.log(`ratio 4 GiB / 1 GiB: ${ratio.toFixed(3)} — ${ratio <= 1.2 ? 'PASS' : 'FAIL'} (target ≤ 1.20)`);
