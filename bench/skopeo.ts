// The client side of the push/pull measurements: one `skopeo copy` per operation, timed wall-clock.
import { execOk } from "./exec.ts";

const BIG_TIMEOUT_MS = 20 * 60_000;

/** skopeo copy oci:<layout>:<tag> docker://<hostPort>/<repoTag>; returns wall milliseconds. */
export async function push(layoutRef: string, hostPort: string, repoTag: string, timeoutMs = BIG_TIMEOUT_MS): Promise<number> {
  const r = await execOk("skopeo", ["copy", "--dest-tls-verify=false", layoutRef, `docker://${hostPort}/${repoTag}`], { timeoutMs });
  return r.wallMs;
}

/** skopeo copy docker://<hostPort>/<repoTag> oci:<dir>:<tag>; returns wall milliseconds. */
export async function pull(hostPort: string, repoTag: string, dir: string, timeoutMs = BIG_TIMEOUT_MS): Promise<number> {
  const r = await execOk("skopeo", ["copy", "--src-tls-verify=false", `docker://${hostPort}/${repoTag}`, `oci:${dir}:pulled`], { timeoutMs });
  return r.wallMs;
}

export async function skopeoVersion(): Promise<string> {
  return (await execOk("skopeo", ["--version"])).stdout.trim();
}
