// The measurements, run against one started registry: big pushes, big pulls, rounds of small
// pushes, HEAD-by-tag load; RSS sampled throughout, CPU accounted per operation.
import { rm } from "node:fs/promises";
import { join } from "node:path";
import type { LayoutImage } from "../test/support/images.ts";
import { aborted, throwIfAborted } from "./cleanup.ts";
import { execOk } from "./exec.ts";
import { headLoad, type HeadLoadResult } from "./head-load.ts";
import type { Options, Phase } from "./options.ts";
import { childrenCpuSeconds, cpuSeconds, ioCounters, isAlive, processTree, statusBytes, systemBusySeconds, type IoCounters } from "./procfs.ts";
import { RssSampler } from "./rss-sampler.ts";
import { push, pull } from "./skopeo.ts";
import { MiB, median } from "./stats.ts";
import type { Target } from "./targets.ts";

export const HEAD_ACCEPT = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

export interface Fixtures {
  big: LayoutImage[]; // one per run, each with its own random layer
  small: LayoutImage[][]; // [round][i]
  bigLayerBytes: number;
}

export interface Timed {
  wallMs: number;
  serverCpuS: number; // CPU the registry spent during the operation (its process and any children)
  clientCpuS: number; // CPU the client tool (skopeo/ab) spent
  selfCpuS: number; // CPU of the benchmark process itself (RSS sampling, draining the registry's log pipe)
  otherCpuS: number; // CPU spent meanwhile by every other process on the machine, kernel writeback included (noise)
  serverIo: IoCounters; // what the registry (process and children) read and wrote through syscalls (files and sockets)
}

export interface TargetResult {
  name: string;
  launcherPid: number;
  serverPid: number;
  serverCmdline: string;
  push?: { runs: Timed[]; mibPerS: number[]; medianMiBPerS: number };
  pull?: { runs: Timed[]; mibPerS: number[]; medianMiBPerS: number };
  /** `curl -L` of the big layer's blob (redirect followed): the registry's own serving rate, no client work. */
  pullCurl?: { runs: Timed[]; mbPerS: number[]; medianMBPerS: number; serverCpuSPerGiB: number };
  small?: { count: number; runs: Timed[]; pushesPerS: number[]; medianPushesPerS: number };
  head?: { url: string; warmup: HeadLoadResult; runs: HeadLoadResult[]; cpu: Timed[]; medianRps: number; medianP99Ms: number; serverCpuUsPerRequest: number };
  rss: {
    afterStartBytes: number;
    pushVmHwmBytes?: number; // VmHWM read right after the big pushes
    pushSampledPeakBytes?: number; // max VmRSS sampled every 100 ms during the big pushes
    overallVmHwmBytes: number;
    overallSampledPeakBytes: number;
    sampledPeakByPhase: Record<string, number>;
    /** The same, summed over the server's process tree (differs only when the server has children). */
    tree: { maxProcesses: number; pushSampledPeakBytes?: number; overallSampledPeakBytes: number; sampledPeakByPhase: Record<string, number> };
    samples: number;
  };
  /** A section that failed is absent above; its error is here (the other sections still ran). */
  errors: Partial<Record<Phase, string>>;
}

/** CPU seconds and I/O counters summed over a set of processes (those that are gone count 0). */
function usage(pids: number[]): { cpu: Map<number, number>; io: Map<number, IoCounters> } {
  const cpu = new Map<number, number>();
  const io = new Map<number, IoCounters>();
  for (const p of pids) {
    const c = cpuSeconds(p);
    const i = ioCounters(p);
    if (c !== undefined) cpu.set(p, c);
    if (i !== undefined) io.set(p, i);
  }
  return { cpu, io };
}

/** Runs `fn`, accounting the registry's whole process tree (server + children) as "server". */
async function timed(serverPid: number, fn: () => Promise<unknown>): Promise<Timed> {
  const pids = processTree(serverPid);
  const u0 = usage(pids);
  const c0 = childrenCpuSeconds();
  const b0 = systemBusySeconds();
  const self0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await fn();
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const u1 = usage(pids);
  const clientCpuS = childrenCpuSeconds() - c0;
  const self = process.cpuUsage(self0);
  const selfS = (self.user + self.system) / 1e6;
  let serverCpuS = 0;
  const serverIo: IoCounters = { rchar: 0, wchar: 0, syscr: 0, syscw: 0 };
  for (const p of pids) {
    serverCpuS += (u1.cpu.get(p) ?? u0.cpu.get(p) ?? 0) - (u0.cpu.get(p) ?? 0);
    const a = u0.io.get(p);
    const b = u1.io.get(p);
    if (a && b) for (const k of Object.keys(serverIo) as Array<keyof IoCounters>) serverIo[k] += b[k] - a[k];
  }
  if (!u1.cpu.has(serverPid)) serverCpuS = NaN; // the server died: its share is unknown
  const otherCpuS = Math.max(0, systemBusySeconds() - b0 - serverCpuS - clientCpuS - selfS);
  return { wallMs, serverCpuS, clientCpuS, selfCpuS: selfS, otherCpuS, serverIo };
}

/** Flushes dirty pages (fixtures, the previous run's blobs) so writeback does not land in a timed run. */
async function settle(): Promise<void> {
  await execOk("sync", [], { timeoutMs: 300_000 });
}

const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

export async function runScenario(target: Target, fx: Fixtures, opts: Options, tmp: string): Promise<TargetResult> {
  const { serverPid, name } = target;
  const hostPort = target.registry.hostPort;
  const sampler = new RssSampler(serverPid, 100);
  sampler.start();
  const result: TargetResult = {
    name,
    launcherPid: target.launcherPid,
    serverPid,
    serverCmdline: target.serverCmdline,
    rss: {
      afterStartBytes: statusBytes(serverPid, "VmRSS") ?? NaN,
      overallVmHwmBytes: NaN,
      overallSampledPeakBytes: NaN,
      sampledPeakByPhase: {},
      tree: { maxProcesses: 1, overallSampledPeakBytes: NaN, sampledPeakByPhase: {} },
      samples: 0,
    },
    errors: {},
  };
  let died = false;
  const section = async (key: Phase, fn: () => Promise<void>) => {
    if (!opts.phases.has(key)) return;
    try {
      throwIfAborted();
      if (died) throw new Error("skipped: the registry process is gone");
      await fn();
    } catch (err) {
      sampler.enter("idle");
      if (aborted.aborted) throw err;
      let message = (err as Error).message;
      if (!died && !isAlive(serverPid)) {
        died = true;
        message += `\nthe registry process ${serverPid} has exited; its last output:\n${target.registry.output().split("\n").slice(-40).join("\n")}`;
      }
      result.errors[key] = message;
      log(`${name} ${key} FAILED: ${message}`);
    }
  };
  const mibps = (runs: Timed[]) => runs.map((t) => fx.bigLayerBytes / MiB / (t.wallMs / 1000));
  const rate = (t: Timed) =>
    `${(t.wallMs / 1000).toFixed(2)} s, ${(fx.bigLayerBytes / MiB / (t.wallMs / 1000)).toFixed(1)} MiB/s (server CPU ${t.serverCpuS.toFixed(2)} s, skopeo CPU ${t.clientCpuS.toFixed(2)} s; ` +
    `server read ${(t.serverIo.rchar / MiB).toFixed(0)} MiB in ${t.serverIo.syscr} calls, wrote ${(t.serverIo.wchar / MiB).toFixed(0)} MiB in ${t.serverIo.syscw} calls)`;
  try {
    // 1. big pushes: a new tag and a new random layer per run.
    const pushed: number[] = [];
    await section("push", async () => {
      const runs: Timed[] = [];
      for (const [i, img] of fx.big.entries()) {
        await settle();
        sampler.enter(`push${i + 1}`);
        const t = await timed(serverPid, () => push(img.ref, hostPort, `bench/big:${i + 1}`));
        sampler.enter("idle");
        runs.push(t);
        pushed.push(i + 1);
        log(`${name} push ${i + 1}/${fx.big.length}: ${rate(t)}`);
      }
      result.push = { runs, mibPerS: mibps(runs), medianMiBPerS: median(mibps(runs)) };
    });
    if (pushed.length > 0 || result.errors.push) {
      result.rss.pushVmHwmBytes = statusBytes(serverPid, "VmHWM") ?? NaN;
      result.rss.pushSampledPeakBytes = Math.max(0, ...fx.big.map((_, i) => sampler.peakByPhase[`push${i + 1}`] ?? 0));
      result.rss.tree.pushSampledPeakBytes = Math.max(0, ...fx.big.map((_, i) => sampler.treePeakByPhase[`push${i + 1}`] ?? 0));
    }

    // 2. big pulls into a fresh dir each time.
    await section("pull", async () => {
      if (pushed.length === 0) throw new Error("no big image was pushed");
      const runs: Timed[] = [];
      const pullDir = join(tmp, `${name}-pull`);
      for (let i = 0; i < fx.big.length; i++) {
        const tag = pushed[i % pushed.length]!;
        await rm(pullDir, { recursive: true, force: true });
        await settle();
        sampler.enter("pull");
        const t = await timed(serverPid, () => pull(hostPort, `bench/big:${tag}`, pullDir));
        sampler.enter("idle");
        await rm(pullDir, { recursive: true, force: true });
        runs.push(t);
        log(`${name} pull ${i + 1}/${fx.big.length}: ${rate(t)}`);
      }
      result.pull = { runs, mibPerS: mibps(runs), medianMiBPerS: median(mibps(runs)) };
    });

    // 2b. the big layer's blob alone with curl -L (following the redirect to the signed URL), to
    // /dev/null: what the registry serves per second and per CPU second, without skopeo's own work.
    await section("pull-curl", async () => {
      if (pushed.length === 0) throw new Error("no big image was pushed");
      const runs: Timed[] = [];
      for (let i = 0; i < fx.big.length; i++) {
        const tag = pushed[i % pushed.length]!;
        // The layer as the registry holds it (skopeo may have recompressed it on the way).
        const manifest = await fetch(`http://${hostPort}/v2/bench/big/manifests/${tag}`, { headers: { accept: HEAD_ACCEPT } });
        if (!manifest.ok) throw new Error(`GET manifest bench/big:${tag} answered ${manifest.status}`);
        const layer = ((await manifest.json()) as { layers: Array<{ digest: string; size: number }> }).layers[0]!;
        const url = `http://${hostPort}/v2/bench/big/blobs/${layer.digest}`;
        await settle();
        sampler.enter("pull-curl");
        let got = "";
        const t = await timed(serverPid, async () => {
          got = (await execOk("curl", ["-sSfL", "-o", "/dev/null", "-w", "%{size_download}", url], { timeoutMs: 600_000 })).stdout.trim();
        });
        sampler.enter("idle");
        if (Number(got) !== layer.size) throw new Error(`curl -L ${url} got ${got} bytes, expected ${layer.size}`);
        runs.push(t);
        log(`${name} curl -L ${i + 1}/${fx.big.length}: ${(t.wallMs / 1000).toFixed(2)} s, ${(fx.bigLayerBytes / 1e6 / (t.wallMs / 1000)).toFixed(0)} MB/s (server CPU ${t.serverCpuS.toFixed(2)} s, curl CPU ${t.clientCpuS.toFixed(2)} s)`);
      }
      const mbPerS = runs.map((t) => fx.bigLayerBytes / 1e6 / (t.wallMs / 1000));
      const cpuPerGiB = runs.map((t) => t.serverCpuS / (fx.bigLayerBytes / 2 ** 30));
      result.pullCurl = { runs, mbPerS, medianMBPerS: median(mbPerS), serverCpuSPerGiB: median(cpuPerGiB) };
    });

    // 3. rounds of small pushes, each image distinct, each to its own tag.
    let smallPushed = false;
    await section("small", async () => {
      const runs: Timed[] = [];
      for (const [round, images] of fx.small.entries()) {
        await settle();
        sampler.enter("small");
        const t = await timed(serverPid, async () => {
          for (const [j, img] of images.entries()) await push(img.ref, hostPort, `bench/small:r${round + 1}-${j + 1}`, 120_000);
        });
        sampler.enter("idle");
        runs.push(t);
        log(`${name} small round ${round + 1}/${fx.small.length}: ${images.length} pushes in ${(t.wallMs / 1000).toFixed(2)} s, ${(images.length / (t.wallMs / 1000)).toFixed(1)}/s (server CPU ${t.serverCpuS.toFixed(2)} s)`);
      }
      smallPushed = true;
      const count = fx.small[0]?.length ?? 0;
      const pushesPerS = runs.map((t) => count / (t.wallMs / 1000));
      result.small = { count, runs, pushesPerS, medianPushesPerS: median(pushesPerS) };
    });

    // 4. HEAD manifest by tag at fixed concurrency.
    await section("head", async () => {
      let repoTag = pushed.length > 0 ? `big/manifests/${pushed[0]}` : smallPushed ? "small/manifests/r1-1" : undefined;
      if (repoTag === undefined) {
        await push(fx.small[0]![0]!.ref, hostPort, "bench/small:head", 120_000); // untimed: something to HEAD
        repoTag = "small/manifests/head";
      }
      const url = `http://${hostPort}/v2/bench/${repoTag}`;
      const probe = await fetch(url, { method: "HEAD", headers: { accept: HEAD_ACCEPT } });
      if (probe.status !== 200 || !probe.headers.get("docker-content-digest")) {
        throw new Error(`HEAD ${url} answered ${probe.status} (Docker-Content-Digest: ${probe.headers.get("docker-content-digest")}); expected 200 with a digest`);
      }
      const load = (seconds: number) => headLoad({ url, connections: opts.headConnections, seconds, headers: { Accept: HEAD_ACCEPT }, workDir: tmp });
      sampler.enter("head");
      const warmup = await load(opts.headWarmupSeconds);
      const runs: HeadLoadResult[] = [];
      const cpu: Timed[] = [];
      for (let i = 0; i < opts.runs; i++) {
        let r: HeadLoadResult | undefined;
        cpu.push(await timed(serverPid, async () => (r = await load(opts.headSeconds))));
        runs.push(r!);
        const bad = r!.failed + r!.non2xx;
        log(`${name} HEAD ${i + 1}/${opts.runs}: ${r!.rps.toFixed(0)} req/s, p99 ${r!.latencyMs.p99.toFixed(2)} ms (server CPU ${cpu[i]!.serverCpuS.toFixed(2)} s, ab CPU ${cpu[i]!.clientCpuS.toFixed(2)} s, bench CPU ${cpu[i]!.selfCpuS.toFixed(2)} s, others ${cpu[i]!.otherCpuS.toFixed(2)} s)${bad ? `, ${bad} FAILED/non-2xx` : ""}${r!.keepAlive < r!.completed ? `, only ${r!.keepAlive}/${r!.completed} kept alive` : ""}`);
      }
      sampler.enter("idle");
      const totalReq = runs.reduce((a, r) => a + r.completed, 0);
      const totalCpu = cpu.reduce((a, t) => a + t.serverCpuS, 0);
      result.head = {
        url,
        warmup,
        runs,
        cpu,
        medianRps: median(runs.map((r) => r.rps)),
        medianP99Ms: median(runs.map((r) => r.latencyMs.p99)),
        serverCpuUsPerRequest: totalReq > 0 ? (totalCpu / totalReq) * 1e6 : NaN,
      };
    });
  } finally {
    sampler.stop();
    result.rss.overallVmHwmBytes = statusBytes(serverPid, "VmHWM") ?? NaN;
    result.rss.overallSampledPeakBytes = sampler.peakOverall;
    result.rss.sampledPeakByPhase = { ...sampler.peakByPhase };
    result.rss.tree = {
      maxProcesses: sampler.maxTreeSize,
      pushSampledPeakBytes: result.rss.tree.pushSampledPeakBytes,
      overallSampledPeakBytes: sampler.treePeakOverall,
      sampledPeakByPhase: { ...sampler.treePeakByPhase },
    };
    result.rss.samples = sampler.samples;
  }
  return result;
}
