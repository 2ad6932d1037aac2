// Runs an external tool (skopeo, ab, sync) as a tracked child: timed, output captured, killed by
// its PID on timeout or when the benchmark is cleaned up.
import { spawn } from "node:child_process";
import { aborted, onCleanup, throwIfAborted } from "./cleanup.ts";

export interface ExecResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  wallMs: number;
}

const MAX_CAPTURE = 1 << 20;

export async function exec(cmd: string, args: string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<ExecResult> {
  throwIfAborted();
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env: opts.env ?? process.env });
  const started = process.hrtime.bigint();
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (s: string) => {
    if (stdout.length < MAX_CAPTURE) stdout += s;
  });
  child.stderr.setEncoding("utf8").on("data", (s: string) => {
    if (stderr.length < MAX_CAPTURE) stderr += s;
  });
  const kill = () => {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, "SIGKILL");
      } catch {
        /* already gone */
      }
    }
  };
  const unregister = onCleanup(`${cmd} pid ${child.pid}`, kill);
  aborted.addEventListener("abort", kill);
  const timer = opts.timeoutMs ? setTimeout(kill, opts.timeoutMs) : undefined;
  try {
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.once("error", reject);
      child.once("close", (c, s) => resolve([c, s]));
    });
    const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
    return { code, signal, stdout, stderr, wallMs };
  } finally {
    aborted.removeEventListener("abort", kill);
    if (timer) clearTimeout(timer);
    await unregister();
  }
}

/** Like exec(), but throws (with the tool's stderr) unless it exits 0. */
export async function execOk(cmd: string, args: string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<ExecResult> {
  const r = await exec(cmd, args, opts);
  throwIfAborted();
  if (r.code !== 0) {
    const why = r.signal ? `killed by ${r.signal}${opts.timeoutMs ? ` (timeout ${opts.timeoutMs} ms?)` : ""}` : `exit ${r.code}`;
    throw new Error(`${cmd} ${args.join(" ")}: ${why}\n${r.stderr.trim().slice(-4000)}`);
  }
  return r;
}
