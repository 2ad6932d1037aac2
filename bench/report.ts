// Turns the per-registry results into the comparison table, the floor checks and the JSON record.
import { cpus } from "node:os";
import type { TargetResult } from "./scenario.ts";
import { median } from "./stats.ts";

export interface Row {
  metric: string;
  cirrus: number | undefined;
  distribution: number | undefined;
  unit: string;
  better: "higher" | "lower" | "info";
  ratio: number | undefined; // cirrus / distribution
}

export interface Floor {
  name: string;
  requirement: string;
  value: number | undefined;
  pass: boolean | undefined; // undefined: not measurable in this run
  note?: string;
}

const MB = 1e6;
const MiB = 2 ** 20;

/** CPU used by unrelated processes (and kernel writeback) while timed operations ran, as % of all cores. */
export function noisePercent(r: TargetResult): number {
  const all = [...(r.push?.runs ?? []), ...(r.pull?.runs ?? []), ...(r.pullCurl?.runs ?? []), ...(r.small?.runs ?? []), ...(r.head?.cpu ?? [])];
  const other = all.reduce((a, t) => a + t.otherCpuS, 0);
  const capacity = all.reduce((a, t) => a + (t.wallMs / 1000) * cpus().length, 0);
  return capacity > 0 ? (other / capacity) * 100 : NaN;
}

export function comparisonRows(c: TargetResult | undefined, d: TargetResult | undefined, bigLayerBytes: number): Row[] {
  const row = (metric: string, unit: string, better: Row["better"], f: (r: TargetResult) => number | undefined): Row => {
    const value = (r: TargetResult | undefined) => {
      const v = r ? f(r) : undefined;
      return v === undefined || Number.isNaN(v) ? undefined : v;
    };
    const cv = value(c);
    const dv = value(d);
    return { metric, unit, better, cirrus: cv, distribution: dv, ratio: cv !== undefined && dv !== undefined && dv !== 0 ? cv / dv : undefined };
  };
  const med = (xs: number[] | undefined) => (xs ? median(xs) : undefined);
  const div = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? undefined : a / b);
  return [
    row("push big layer", "MiB/s", "higher", (r) => r.push?.medianMiBPerS),
    row("pull big layer", "MiB/s", "higher", (r) => r.pull?.medianMiBPerS),
    row("curl -L of the big blob", "MB/s", "higher", (r) => r.pullCurl?.medianMBPerS),
    row("server CPU per GiB served to curl -L", "s", "lower", (r) => r.pullCurl?.serverCpuSPerGiB),
    row("small pushes", "pushes/s", "higher", (r) => r.small?.medianPushesPerS),
    row("HEAD manifest by tag", "req/s", "higher", (r) => r.head?.medianRps),
    row("HEAD p99 latency", "ms", "lower", (r) => r.head?.medianP99Ms),
    row("peak RSS during big push (VmHWM)", "MB", "lower", (r) => div(r.rss.pushVmHwmBytes, MB)),
    row("peak RSS during big push (sampled VmRSS)", "MB", "lower", (r) => div(r.rss.pushSampledPeakBytes || undefined, MB)),
    row("peak RSS overall (VmHWM)", "MB", "lower", (r) => r.rss.overallVmHwmBytes / MB),
    row("peak RSS overall (sampled VmRSS)", "MB", "lower", (r) => r.rss.overallSampledPeakBytes / MB),
    row("peak RSS during big push incl. child processes (sampled)", "MB", "lower", (r) => div(r.rss.tree.pushSampledPeakBytes || undefined, MB)),
    row("peak RSS overall incl. child processes (sampled)", "MB", "lower", (r) => div(r.rss.tree.overallSampledPeakBytes || undefined, MB)),
    row("RSS after start", "MB", "lower", (r) => r.rss.afterStartBytes / MB),
    row("server CPU per big push", "s", "lower", (r) => med(r.push?.runs.map((t) => t.serverCpuS))),
    row("skopeo CPU per big push", "s", "info", (r) => med(r.push?.runs.map((t) => t.clientCpuS))),
    row("server bytes written per big push, incl. sockets", "× layer", "lower", (r) => div(med(r.push?.runs.map((t) => t.serverIo.wchar)), bigLayerBytes)),
    row("server bytes read per big push, incl. sockets", "× layer", "lower", (r) => div(med(r.push?.runs.map((t) => t.serverIo.rchar)), bigLayerBytes)),
    row("server CPU per big pull", "s", "lower", (r) => med(r.pull?.runs.map((t) => t.serverCpuS))),
    row("server CPU per small push", "ms", "lower", (r) => div(med(r.small?.runs.map((t) => t.serverCpuS * 1000)), r.small?.count)),
    row("server CPU per HEAD", "µs", "lower", (r) => r.head?.serverCpuUsPerRequest),
    row("other processes' CPU during timed runs", "% of machine", "info", noisePercent),
  ];
}

export function floors(rows: Row[], c: TargetResult | undefined, d: TargetResult | undefined, layerMiB: number): Floor[] {
  const ratioOf = (metric: string) => rows.find((r) => r.metric === metric)?.ratio;
  const headErrors = (r: TargetResult | undefined) => (r?.head ? r.head.runs.reduce((a, h) => a + h.failed + h.non2xx, 0) : 0);
  // Run-to-run spread, (max - min) / median, of the worse-behaved registry: a ratio closer to 1.0
  // than this is within the noise of this machine, and the floor may flip on a rerun.
  const spread = (pick: (r: TargetResult) => number[] | undefined): number | undefined => {
    const one = (r: TargetResult | undefined) => {
      const xs = r ? pick(r) : undefined;
      return xs && xs.length > 1 ? (Math.max(...xs) - Math.min(...xs)) / median(xs) : undefined;
    };
    const both = [one(c), one(d)].filter((x): x is number => x !== undefined);
    return both.length > 0 ? Math.max(...both) : undefined;
  };
  const ratioFloor = (name: string, metric: string, pick: (r: TargetResult) => number[] | undefined): Floor => {
    const value = ratioOf(metric);
    const f: Floor = { name, requirement: "Cirrus/Distribution ≥ 1.0", value, pass: value === undefined ? undefined : value >= 1.0 };
    const sp = spread(pick);
    if (value !== undefined && sp !== undefined && Math.abs(value - 1) < sp) f.note = `within the run-to-run spread (${(sp * 100).toFixed(0)}%): may flip on a rerun`;
    return f;
  };
  const head = ratioFloor("HEAD req/s ratio", "HEAD manifest by tag", (r) => r.head?.runs.map((h) => h.rps));
  const errs = headErrors(c) + headErrors(d);
  if (errs > 0) {
    head.pass = false;
    head.note = `${errs} failed or non-2xx HEAD responses: req/s not comparable`;
  }
  // VmHWM is gone with the process if it died: fall back to the 100 ms samples, which can only under-read.
  const hwm = c?.rss.pushVmHwmBytes;
  const rss = c && hwm !== undefined ? (!Number.isNaN(hwm) ? hwm : c.rss.pushSampledPeakBytes || undefined) : undefined;
  const rssFloor: Floor = { name: "Cirrus peak RSS during big push (MiB)", requirement: "≤ 100 MiB (VmHWM)", value: rss === undefined ? undefined : rss / MiB, pass: rss === undefined ? undefined : rss / MiB <= 100 };
  const idle = c?.rss.afterStartBytes;
  const idleFloor: Floor = { name: "Cirrus RSS after start (MiB)", requirement: "≤ 60 MiB (VmRSS)", value: idle === undefined || Number.isNaN(idle) ? undefined : idle / MiB, pass: idle === undefined || Number.isNaN(idle) ? undefined : idle / MiB <= 60 };
  if (c && hwm !== undefined && (c.errors.push || Number.isNaN(hwm))) rssFloor.note = "pushes did not all complete";
  const curlCpu = ratioOf("server CPU per GiB served to curl -L");
  const out = [
    ratioFloor("push MiB/s ratio", "push big layer", (r) => r.push?.mibPerS),
    ratioFloor("pull MiB/s ratio", "pull big layer", (r) => r.pull?.mibPerS),
    ratioFloor("curl -L MB/s ratio", "curl -L of the big blob", (r) => r.pullCurl?.mbPerS),
    { name: "curl -L server CPU per GiB ratio", requirement: "Cirrus/Distribution ≤ 1.0", value: curlCpu, pass: curlCpu === undefined ? undefined : curlCpu <= 1.0 },
    head,
    rssFloor,
    idleFloor,
  ];
  if (layerMiB !== 1024) for (const f of out) f.note = [f.note, `layer is ${layerMiB} MiB, floors are defined for 1024 MiB: indicative only`].filter(Boolean).join("; ");
  return out;
}

function fmt(v: number | undefined, digits = 1): string {
  if (v === undefined || Number.isNaN(v)) return "n/a";
  if (Math.abs(v) >= 1000) return v.toFixed(0);
  return v.toFixed(digits);
}

function table(header: string[], body: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const numeric = (c: string) => /^-?[\d.]+$|^n\/a$/.test(c);
  const line = (cells: string[]) => "| " + cells.map((c, i) => (numeric(c) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(" | ") + " |";
  return [line(header), "|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|", ...body.map(line)].join("\n");
}

export function renderTable(rows: Row[], layerMiB: number): string {
  const body = rows.map((r) => [
    `${r.metric.replace("big", `${layerMiB} MiB`)} (${r.unit})`,
    fmt(r.cirrus, r.unit === "s" ? 2 : 1),
    fmt(r.distribution, r.unit === "s" ? 2 : 1),
    r.ratio === undefined ? "n/a" : r.ratio.toFixed(2),
    r.better === "info" ? "info" : `${r.better} is better`,
  ]);
  return table(["metric", "Cirrus", "Distribution", "ratio Cirrus/Distribution", "direction"], body);
}

export function renderFloors(fl: Floor[]): string {
  const body = fl.map((f) => [
    f.pass === undefined ? "SKIP" : f.pass ? "PASS" : "FAIL",
    f.name,
    f.requirement,
    f.value === undefined ? "n/a" : f.value.toFixed(f.name.includes("ratio") ? 3 : 1),
    f.note ?? "",
  ]);
  return table(["", "floor", "requirement", "measured", "note"], body);
}
