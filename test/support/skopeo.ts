// skopeo invocations shared by the real-client tests. Plain HTTP to loopback registries, and no
// dependence on the machine's /etc/containers/policy.json.
import { run, type RunResult } from './clients.ts';
import { sha256Digest } from './images.ts';

/**
 * `skopeo copy src dest` with TLS verification off on both sides. Pass `--preserve-digests` to keep
 * uncompressed layers as they are: without it skopeo gzips them on the way to a registry.
 */
export function skopeoCopy(src: string, dest: string, extra: string[] = []): Promise<RunResult> {
  return run('skopeo', ['--insecure-policy', 'copy', '--src-tls-verify=false', '--dest-tls-verify=false', ...extra, src, dest]);
}

/** `skopeo inspect --raw`: the manifest bytes as served, and their sha256. */
export async function skopeoInspectRaw(ref: string): Promise<{ bytes: Buffer; digest: string }> {
  const res = await run('skopeo', ['--insecure-policy', 'inspect', '--raw', ...tlsFlag(ref), ref]);
  // skopeo prints the bytes as received; it adds no newline of its own.
  const bytes = Buffer.from(res.stdout, 'utf8');
  return { bytes, digest: sha256Digest(bytes) };
}

/** `skopeo inspect --config`: the image config JSON. */
export async function skopeoInspectConfig(ref: string): Promise<{ rootfs: { diff_ids: string[] } }> {
  const res = await run('skopeo', ['--insecure-policy', 'inspect', '--config', ...tlsFlag(ref), ref]);
  return JSON.parse(res.stdout) as { rootfs: { diff_ids: string[] } };
}

function tlsFlag(ref: string): string[] {
  return ref.startsWith('docker://') ? ['--tls-verify=false'] : [];
}
