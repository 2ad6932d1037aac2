// The two registries under test, each started by the shared test helper with a fresh data dir on
// its own loopback port. The server PID is resolved from the listening socket (so a wrapper PID
// is never measured), and shutdown plus data dir removal are registered for cleanup.
import { rm } from "node:fs/promises";
import { startDistribution, startLocalHost, type RunningRegistry } from "../test/support/local-host.ts";
import { onCleanup } from "./cleanup.ts";
import { cmdline, isAlive, listeningPid, processTree } from "./procfs.ts";

export type TargetName = "cirrus" | "distribution";

export interface Target {
  name: TargetName;
  registry: RunningRegistry;
  /** The process that owns the listening socket (may differ from registry.pid if that is a wrapper). */
  serverPid: number;
  serverCmdline: string;
  launcherPid: number;
  /** Stops the registry, kills any leftover process of its tree by PID, removes its data dir. */
  close(): Promise<void>;
}

async function waitDead(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return !isAlive(pid);
}

export async function startTarget(name: TargetName, dataDir: string, env: Record<string, string>): Promise<Target> {
  // Registered before starting so a ctrl-C during startup still removes the dir.
  const removeDir = onCleanup(`${name} data dir`, () => rm(dataDir, { recursive: true, force: true }));
  const registry = name === "cirrus" ? await startLocalHost({ dataDir, env }) : await startDistribution({ dataDir });
  let tree = processTree(registry.pid);
  const serverPid = listeningPid(registry.port, registry.pid) ?? registry.pid;
  if (!tree.includes(serverPid)) tree = [...tree, serverPid];
  const cmdlines = new Map(tree.map((pid) => [pid, cmdline(pid)]));

  const shutdown = onCleanup(`${name} registry`, async () => {
    await Promise.race([registry.stop(), new Promise((r) => setTimeout(r, 15_000))]).catch(() => undefined);
    // Leftovers of this registry's own process tree only, children first; the cmdline check
    // guards against a PID that was reused by an unrelated process meanwhile.
    for (const pid of [...tree].reverse()) {
      if (isAlive(pid) && !(await waitDead(pid, 2_000)) && cmdline(pid) === cmdlines.get(pid)) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          /* gone */
        }
      }
    }
  });
  return {
    name,
    registry,
    serverPid,
    serverCmdline: cmdline(serverPid),
    launcherPid: registry.pid,
    async close() {
      await shutdown();
      await removeDir();
    },
  };
}
