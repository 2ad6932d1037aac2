// Cirrus vs Distribution 2.8 benchmark: push/pull of a big layer (skopeo, and the blob alone with
// curl -L), small pushes, HEAD load, RSS.
// `npm run bench -- --help` for options. Each registry runs alone (one after the other) on its
// own loopback port with a fresh data dir; every process and temp dir is cleaned up, also on ctrl-C.
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, statfs, writeFile } from "node:fs/promises";
import { cpus, totalmem, release } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildImageLayout, type LayoutImage } from "../test/support/images.ts";
import { aborted, cleanupAll, installSignalHandlers, onCleanup, SIGNAL_EXIT_CODES, throwIfAborted } from "./cleanup.ts";
import { summarise } from "./cpuprof-top.ts";
import { exec } from "./exec.ts";
import { LOAD_TOOL, loadToolVersion } from "./head-load.ts";
import { parseOptions, type Options } from "./options.ts";
import { systemBusySeconds } from "./procfs.ts";
import { comparisonRows, floors, noisePercent, renderFloors, renderTable } from "./report.ts";
import { runScenario, type Fixtures, type TargetResult } from "./scenario.ts";
import { skopeoVersion } from "./skopeo.ts";
import { MiB, prng } from "./stats.ts";
import { startTarget, type TargetName } from "./targets.ts";

const repoRoot = fileURLToPath(new URL("..", import.meta.url));
const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

async function requireTools(names: string[]): Promise<void> {
  const missing: string[] = [];
  for (const n of names) if ((await exec("sh", ["-c", `command -v ${n}`])).code !== 0) missing.push(n);
  if (missing.length > 0) throw new Error(`missing tools: ${missing.join(", ")} (apt-get install -y skopeo apache2-utils docker-registry)`);
}

async function checkSpace(dir: string, needBytes: number): Promise<number> {
  const s = await statfs(dir);
  const free = s.bavail * s.bsize;
  if (free < needBytes) throw new Error(`${dir} has ${(free / 2 ** 30).toFixed(1)} GiB free, the benchmark needs about ${(needBytes / 2 ** 30).toFixed(1)} GiB`);
  return free;
}

async function buildFixtures(opts: Options, dir: string): Promise<Fixtures> {
  const build = buildImageLayout;
  const t0 = Date.now();
  const big: LayoutImage[] = [];
  for (let i = 1; i <= (opts.phases.has("push") ? opts.runs : 0); i++) {
    throwIfAborted();
    big.push(await build({ dir: join(dir, `big-${i}`), tag: "bench", layers: [{ size: opts.layerMiB * MiB, seed: 1000 + i }] }));
  }
  const rand = prng(42);
  const small: LayoutImage[][] = [];
  // HEAD alone needs just one small image to have a manifest to ask for.
  const rounds = opts.phases.has("small") ? opts.runs : opts.phases.has("head") ? 1 : 0;
  const perRound = opts.phases.has("small") ? opts.smallPushes : 1;
  for (let round = 1; round <= rounds; round++) {
    const images: LayoutImage[] = [];
    for (let j = 1; j <= perRound; j++) {
      throwIfAborted();
      const size = 1024 + Math.floor(rand() * (64 * 1024 - 1024));
      images.push(await build({ dir: join(dir, `small-${round}-${j}`), tag: "bench", layers: [{ size, seed: 100_000 + round * 1000 + j }] }));
    }
    small.push(images);
  }
  const bigLayerBytes = big[0]?.layerSizes.reduce((a, b) => a + b, 0) ?? 0;
  log(`fixtures built in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${big.length} × ${(bigLayerBytes / MiB).toFixed(1)} MiB, ${rounds} × ${perRound} small`);
  return { big, small, bigLayerBytes };
}

/** Summarises the host's .cpuprofile files (written when it exits) next to them, and on stderr. */
async function reportProfiles(dir: string): Promise<void> {
  const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith(".cpuprofile"));
  if (files.length === 0) log(`no .cpuprofile in ${dir} (the host must exit cleanly on SIGTERM to write one)`);
  for (const f of files) {
    const text = summarise(JSON.parse(await readFile(join(dir, f), "utf8")));
    await writeFile(join(dir, f.replace(/\.cpuprofile$/, ".top.txt")), text + "\n");
    log(`CPU profile ${join(dir, f)}:\n${text.split("\n").slice(0, 24).join("\n")}`);
  }
}

/** CPU used by everything on the machine over `ms`, as % of all cores. */
async function machineBusyPercent(ms: number): Promise<number> {
  const b0 = systemBusySeconds();
  await new Promise((r) => setTimeout(r, ms));
  return ((systemBusySeconds() - b0) / ((ms / 1000) * cpus().length)) * 100;
}

function gitRev(): string {
  try {
    const rev = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: repoRoot, encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain"], { cwd: repoRoot, encoding: "utf8" }).trim() !== "";
    return dirty ? `${rev}-dirty` : rev;
  } catch {
    return "unknown";
  }
}

async function main(): Promise<number> {
  installSignalHandlers();
  const opts = parseOptions(process.argv.slice(2), process.env);
  const targets: TargetName[] = opts.only ? [opts.only] : ["cirrus", "distribution"];
  await requireTools(["skopeo", "ab", "sync", "curl", ...(targets.includes("distribution") ? ["docker-registry"] : [])]);
  const startedAt = new Date();
  const t0 = Date.now();

  const tmp = await mkdtemp(join(opts.tmpRoot, "cirrus-bench-"));
  onCleanup("temp dir", () => rm(tmp, { recursive: true, force: true }));
  const L = opts.layerMiB * MiB;
  const free = await checkSpace(tmp, (opts.phases.has("push") ? (2 * opts.runs + 3) * L : 0) + 2 ** 30);
  log(`temp dir ${tmp} (${(free / 2 ** 30).toFixed(0)} GiB free); load generator: ${LOAD_TOOL}`);

  const resultsDir = opts.resultsDir ?? join(repoRoot, "bench", "results");
  const stamp = startedAt.toISOString().replaceAll(":", "-").replace(/\.\d+Z$/, "Z");
  const profDir = join(resultsDir, `${stamp}-cirrus-cpuprof`);
  const fx = await buildFixtures(opts, join(tmp, "fixtures"));
  const busy = await machineBusyPercent(2000);
  log(`machine busy before start: ${busy.toFixed(0)}% of ${cpus().length} cores${busy > 10 ? " — WARNING: other processes are running, figures will be disturbed" : ""}`);
  const results: Partial<Record<TargetName, TargetResult>> = {};
  const errors: Partial<Record<TargetName, string>> = {};
  for (const name of targets) {
    throwIfAborted();
    const env: Record<string, string> = {};
    if (name === "cirrus" && opts.backend) env.CIRRUS_BACKEND = opts.backend;
    if (name === "cirrus" && opts.cpuProf) env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ""} --cpu-prof --cpu-prof-dir=${profDir}`.trim();
    log(`starting ${name}${env.CIRRUS_BACKEND ? ` (CIRRUS_BACKEND=${env.CIRRUS_BACKEND})` : ""}`);
    let target;
    try {
      target = await startTarget(name, join(tmp, `${name}-data`), env);
      log(`${name}: ${target.registry.url}, launcher pid ${target.launcherPid}, server pid ${target.serverPid} (${target.serverCmdline})${target.serverPid !== target.launcherPid ? " — launcher is a wrapper, measuring the server" : ""}`);
      results[name] = await runScenario(target, fx, opts, tmp);
    } catch (err) {
      if (aborted.aborted) throw err;
      errors[name] = (err as Error).stack ?? String(err);
      log(`${name} FAILED: ${(err as Error).message}`);
    } finally {
      await target?.close();
    }
    if (name === "cirrus" && opts.cpuProf) await reportProfiles(profDir);
  }

  const distVersion = targets.includes("distribution")
    ? ((await exec("docker-registry", ["--version"])).stdout.trim().split(" ").pop() ?? "unknown")
    : undefined;
  const rows = comparisonRows(results.cirrus, results.distribution, fx.bigLayerBytes);
  const fl = floors(rows, results.cirrus, results.distribution, opts.layerMiB);
  const durationS = (Date.now() - t0) / 1000;
  console.log(`\nCirrus vs Distribution ${distVersion ?? "(not run)"} — layer ${opts.layerMiB} MiB, ${opts.runs} run(s) per metric (medians), HEAD: ${opts.headConnections} connections × ${opts.headSeconds} s, load generator ${LOAD_TOOL};\n"server" CPU and I/O include the registry's child processes; MB = 10^6 bytes\n`);
  console.log(renderTable(rows, opts.layerMiB));
  console.log(`\nFloors:\n${renderFloors(fl)}`);
  for (const r of Object.values(results)) {
    const noise = noisePercent(r);
    if (noise > 5) console.log(`\nWARNING: other processes used ${noise.toFixed(0)}% of the machine's CPU while ${r.name} was measured: its figures are disturbed.`);
  }
  for (const [name, e] of Object.entries(errors)) console.log(`\n${name} ERROR: ${e}`);
  for (const r of Object.values(results)) for (const [sec, e] of Object.entries(r.errors)) console.log(`\n${r.name} ${sec} ERROR: ${e}`);

  await mkdir(resultsDir, { recursive: true });
  const file = join(resultsDir, `${stamp}.json`);
  const record = {
    meta: {
      startedAt: startedAt.toISOString(),
      durationS,
      git: gitRev(),
      node: process.version,
      skopeo: await skopeoVersion(),
      distribution: distVersion,
      loadTool: `${LOAD_TOOL} ${await loadToolVersion()}`,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      memGiB: Math.round(totalmem() / 2 ** 30),
      kernel: release(),
      machineBusyPercentBeforeStart: busy,
      options: { ...opts, phases: [...opts.phases] },
      bigLayerBytes: fx.bigLayerBytes,
    },
    comparison: rows,
    floors: fl,
    results,
    errors,
  };
  await writeFile(file, JSON.stringify(record, null, 2) + "\n");
  console.log(`\nresults: ${file}\ntotal run time: ${(durationS / 60).toFixed(1)} min`);
  const failed = Object.keys(errors).length > 0 || Object.values(results).some((r) => Object.keys(r.errors).length > 0);
  return failed ? 1 : 0;
}

let code = 1;
try {
  code = await main();
} catch (err) {
  if (!aborted.aborted) process.stderr.write(`[bench] ${(err as Error).stack ?? String(err)}\n`);
} finally {
  await cleanupAll();
}
process.exit(aborted.aborted ? (SIGNAL_EXIT_CODES[String(aborted.reason)] ?? 130) : code);
