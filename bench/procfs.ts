// Linux /proc readers: memory (VmRSS/VmHWM), CPU time, process tree, and which process owns a
// listening TCP port (so a wrapper PID, e.g. npx or tsx's launcher, is never mistaken for the server).
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync, readlinkSync } from "node:fs";

let clkTck: number | undefined;
function ticksPerSecond(): number {
  if (clkTck === undefined) {
    try {
      clkTck = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

/** A field of /proc/<pid>/status in bytes (VmRSS, VmHWM...), or undefined if the process is gone. */
export function statusBytes(pid: number, field: "VmRSS" | "VmHWM" | "VmPeak" | "VmSize"): number | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return undefined;
  }
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text);
  return m ? Number(m[1]) * 1024 : undefined;
}

function statFields(pid: number | "self"): string[] | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "utf8");
    return s.slice(s.lastIndexOf(")") + 2).split(" "); // [0] is field 3 (state)
  } catch {
    return undefined;
  }
}

/** User+system CPU seconds consumed so far by a process (all its threads). */
export function cpuSeconds(pid: number): number | undefined {
  const f = statFields(pid);
  return f ? (Number(f[11]) + Number(f[12])) / ticksPerSecond() : undefined;
}

/** CPU seconds of this process's waited-for children (the client tools: skopeo, ab). */
export function childrenCpuSeconds(): number {
  const f = statFields("self")!;
  return (Number(f[13]) + Number(f[14])) / ticksPerSecond();
}

export function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
  } catch {
    return "";
  }
}

export function isAlive(pid: number): boolean {
  const f = statFields(pid);
  return f !== undefined && f[0] !== "Z";
}

function allPids(): number[] {
  return readdirSync("/proc").filter((n) => /^\d+$/.test(n)).map(Number);
}

/** pid and all its descendants, parents first. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const pid of allPids()) {
    const f = statFields(pid);
    if (!f) continue;
    const ppid = Number(f[1]);
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid)!.push(pid);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const p = queue.shift()!;
    out.push(p);
    queue.push(...(children.get(p) ?? []));
  }
  return out;
}

function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10 || cols[3] !== "0A") continue; // 0A = LISTEN
      const localPort = parseInt(cols[1]!.split(":")[1]!, 16);
      if (localPort === port) inodes.add(cols[9]!);
    }
  }
  return inodes;
}

function ownsSocket(pid: number, inodes: Set<string>): boolean {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m && inodes.has(m[1]!)) return true;
    } catch {
      /* fd closed meanwhile */
    }
  }
  return false;
}

/**
 * The PID of the process listening on `port`, searched first among `hint` and its descendants
 * (deepest last wins, so a launcher that merely inherited the socket loses to its server child),
 * then among all processes.
 */
export function listeningPid(port: number, hint?: number): number | undefined {
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return undefined;
  const candidates = hint !== undefined ? processTree(hint) : [];
  const owners = candidates.filter((p) => ownsSocket(p, inodes));
  if (owners.length > 0) return owners[owners.length - 1];
  return allPids().find((p) => ownsSocket(p, inodes));
}

/** Busy CPU seconds of the whole machine so far (all cores; idle and iowait excluded). */
export function systemBusySeconds(): number {
  const cols = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = cols.slice(0, 8).reduce((a, b) => a + b, 0); // user..steal; guest is already in user
  return (total - cols[3]! - cols[4]!) / ticksPerSecond();
}

export interface IoCounters {
  rchar: number; // bytes read through read()-like syscalls (page cache included)
  wchar: number; // bytes written through write()-like syscalls
  syscr: number;
  syscw: number;
}

/** /proc/<pid>/io of a process (all its threads), or undefined if it is gone. */
export function ioCounters(pid: number): IoCounters | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/io`, "utf8");
  } catch {
    return undefined;
  }
  const get = (k: string) => Number(new RegExp(`^${k}: (\\d+)`, "m").exec(text)?.[1] ?? NaN);
  return { rchar: get("rchar"), wchar: get("wchar"), syscr: get("syscr"), syscw: get("syscw") };
}
