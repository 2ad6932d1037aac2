// Samples VmRSS every `intervalMs` for the whole life of a registry under test, keeping the peak
// per named phase and overall: of the server process itself, and of its whole process tree
// (the server plus any children, e.g. the storage emulators of CIRRUS_BACKEND=aws-local).
import { processTree, statusBytes } from "./procfs.ts";

const TREE_REFRESH_SAMPLES = 20; // re-list the tree every 2 s: listing scans all of /proc

export class RssSampler {
  private timer: NodeJS.Timeout | undefined;
  private phase = "idle";
  private tree: number[];
  readonly peakByPhase: Record<string, number> = {};
  readonly treePeakByPhase: Record<string, number> = {};
  peakOverall = 0;
  treePeakOverall = 0;
  maxTreeSize = 1;
  samples = 0;

  constructor(
    readonly pid: number,
    readonly intervalMs = 100,
  ) {
    this.tree = processTree(pid);
  }

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
  }

  /** Starts attributing samples to `phase` (taking one sample right away). */
  enter(phase: string): void {
    this.phase = phase;
    this.sample();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.sample();
  }

  private sample(): void {
    const rss = statusBytes(this.pid, "VmRSS");
    if (rss === undefined) return;
    if (this.samples % TREE_REFRESH_SAMPLES === 0) {
      this.tree = processTree(this.pid);
      this.maxTreeSize = Math.max(this.maxTreeSize, this.tree.length);
    }
    this.samples++;
    let tree = rss;
    for (const p of this.tree) if (p !== this.pid) tree += statusBytes(p, "VmRSS") ?? 0;
    if (rss > this.peakOverall) this.peakOverall = rss;
    if (tree > this.treePeakOverall) this.treePeakOverall = tree;
    if (rss > (this.peakByPhase[this.phase] ?? 0)) this.peakByPhase[this.phase] = rss;
    if (tree > (this.treePeakByPhase[this.phase] ?? 0)) this.treePeakByPhase[this.phase] = tree;
  }
}
