// Benchmark options, from argv (`--name value` or `--name=value`) or the environment (BENCH_*).
import { tmpdir } from "node:os";
import type { TargetName } from "./targets.ts";

export const PHASES = ["push", "pull", "pull-curl", "small", "head"] as const;
export type Phase = (typeof PHASES)[number];

export interface Options {
  layerMiB: number;
  runs: number;
  only: TargetName | undefined;
  backend: string | undefined; // passed to Cirrus as CIRRUS_BACKEND
  phases: Set<Phase>;
  smallPushes: number;
  headSeconds: number;
  headWarmupSeconds: number;
  headConnections: number;
  cpuProf: boolean; // run the Cirrus host under `node --cpu-prof`
  tmpRoot: string;
  resultsDir: string | undefined; // default bench/results
}

const USAGE = `usage: npm run bench -- [options]
  --layer-mib N        size of the big layer in MiB (default 1024)          env BENCH_LAYER_MIB
  --runs N             runs per measurement, median reported (default 3)   env BENCH_RUNS
  --only NAME          cirrus | distribution (default both)                env BENCH_ONLY
  --backend NAME       CIRRUS_BACKEND for the Cirrus host (default unset)  env BENCH_BACKEND
  --phases LIST        subset of push,pull,pull-curl,small,head (default   env BENCH_PHASES
                       all; pull and pull-curl need push, which then runs)
  --small-pushes N     small images pushed per round (default 50)          env BENCH_SMALL_PUSHES
  --head-seconds N     HEAD load duration per run (default 10)             env BENCH_HEAD_SECONDS
  --head-connections N HEAD load concurrency (default 32)                  env BENCH_HEAD_CONNECTIONS
  --cpu-prof           profile the Cirrus host (node --cpu-prof); the      env BENCH_CPU_PROF=1
                       .cpuprofile and its summary go next to the JSON
  --tmp DIR            where temp data goes (default the OS tmp dir)       env BENCH_TMP
  --results DIR        where the JSON goes (default bench/results)         env BENCH_RESULTS`;

const FLAGS = ["cpu-prof"];
const VALUED = ["layer-mib", "runs", "only", "backend", "phases", "small-pushes", "head-seconds", "head-connections", "tmp", "results"];

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): Options {
  const given = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "-h" || a === "--help") {
      console.log(USAGE);
      process.exit(0);
    }
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    if (!m) throw new Error(`unexpected argument ${a}\n${USAGE}`);
    const key = m[1]!;
    if (FLAGS.includes(key)) {
      given.set(key, m[2] ?? "1");
      continue;
    }
    if (!VALUED.includes(key)) throw new Error(`unknown option --${key}\n${USAGE}`);
    const value = m[2] ?? argv[++i];
    if (value === undefined) throw new Error(`--${key} needs a value\n${USAGE}`);
    given.set(key, value);
  }

  const str = (k: string): string | undefined => given.get(k) ?? env[`BENCH_${k.toUpperCase().replaceAll("-", "_")}`] ?? undefined;
  const int = (k: string, def: number, min = 1): number => {
    const v = str(k);
    if (v === undefined || v === "") return def;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${k} must be an integer ≥ ${min}, got ${v}`);
    return n;
  };
  const only = str("only") || undefined;
  if (only !== undefined && only !== "cirrus" && only !== "distribution") throw new Error(`--only must be cirrus or distribution, got ${only}`);
  const phases = new Set<Phase>();
  for (const p of (str("phases") || PHASES.join(",")).split(",").map((s) => s.trim()).filter(Boolean)) {
    if (!(PHASES as readonly string[]).includes(p)) throw new Error(`--phases: unknown phase ${p} (known: ${PHASES.join(", ")})`);
    phases.add(p as Phase);
  }
  if (phases.has("pull") || phases.has("pull-curl")) phases.add("push");
  return {
    layerMiB: int("layer-mib", 1024),
    runs: int("runs", 3),
    only,
    backend: str("backend") || undefined,
    phases,
    smallPushes: int("small-pushes", 50),
    headSeconds: int("head-seconds", 10),
    headWarmupSeconds: 2,
    headConnections: int("head-connections", 32),
    cpuProf: ["1", "true", "yes"].includes(str("cpu-prof") ?? ""),
    tmpRoot: str("tmp") || tmpdir(),
    resultsDir: str("results") || undefined,
  };
}
