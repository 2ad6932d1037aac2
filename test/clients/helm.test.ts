// helm (v4, OCI charts) against a running registry: create and package a chart, push it, pull it
// back byte for byte, render it from the registry, and resolve versions through the tag list.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type IsolatedHelm, isolatedHelm, requireHelm } from '../support/helm.ts';
import { sha256Digest } from '../support/images.ts';
import { type RunningRegistry, startTargetRegistry } from '../support/local-host.ts';
import { describeRequests, startRecordingProxy } from '../support/recording-proxy.ts';
import { getBlob, getManifest, headManifest } from '../support/registry-api.ts';
import { readTar, tarFile } from '../support/tar.ts';
import { cleanUp, makeTempDir, removeTree } from '../support/tmp.ts';

const HELM_CONFIG = 'application/vnd.cncf.helm.config.v1+json';
const HELM_CHART = 'application/vnd.cncf.helm.chart.content.v1.tar+gzip';
const CHART = 'demo';
const helmClient = requireHelm();

interface ChartConfig {
  name: string;
  version: string;
  appVersion?: string;
  apiVersion: string;
}

describe.skipIf(!helmClient.available)(`helm push and pull of OCI charts${helmClient.reason}`, () => {
  let registry: RunningRegistry;
  let work: string;
  let helm: IsolatedHelm['helm'];
  /** Packaged chart archives by version. */
  const packaged = new Map<string, string>();
  const chartsUrl = () => `oci://${registry.hostPort}/charts`;
  const chartRef = () => `${chartsUrl()}/${CHART}`;

  const pushChart = async (version: string, url = chartsUrl()): Promise<string> => {
    const push = await helm(['push', packaged.get(version)!, url, '--plain-http']);
    const output = `${push.stdout}\n${push.stderr}`;
    const digest = /Digest: (sha256:[0-9a-f]{64})/.exec(output)?.[1];
    if (!digest) throw new Error(`helm push printed no digest:\n${output}`);
    return digest;
  };

  const pullChart = async (args: string[]): Promise<{ file: string; bytes: Buffer; digest: string | undefined; output: string }> => {
    const dest = await makeTempDir('helm-pull');
    try {
      const pull = await helm(['pull', chartRef(), '--plain-http', '--destination', dest, ...args]);
      const output = `${pull.stdout}\n${pull.stderr}`;
      const file = /Pulled: \S+:(\S+)/.exec(output)?.[1];
      const [name, ...others] = await readdir(dest);
      if (!name || others.length) throw new Error(`helm pull left ${[name, ...others].join(', ')} in ${dest}`);
      return {
        file: name,
        bytes: await readFile(join(dest, name)),
        digest: /Digest: (sha256:[0-9a-f]{64})/.exec(output)?.[1],
        output: `${output}\n(tag ${file})`,
      };
    } finally {
      await removeTree(dest);
    }
  };

  beforeAll(async () => {
    work = await makeTempDir('helm');
    registry = await startTargetRegistry();
    ({ helm } = await isolatedHelm(join(work, 'helm')));
    await helm(['create', CHART], { cwd: work });
    for (const version of ['0.3.1', '0.4.0', '1.0.0+build.7']) {
      const res = await helm(['package', join(work, CHART), '--version', version, '--app-version', '1.2.3', '--destination', join(work, 'packaged')]);
      const file = /saved it to: (\S+\.tgz)/.exec(res.stdout)?.[1];
      if (!file) throw new Error(`helm package printed no path:\n${res.stdout}`);
      packaged.set(version, file);
    }
  }, 120_000);

  afterAll(async () => {
    await cleanUp(registry?.stop, work ? () => removeTree(work) : undefined);
  }, 60_000);

  it('pushes a packaged chart as an OCI artifact with Helm media types and the chart bytes as its layer', { timeout: 120_000 }, async () => {
    const pushedDigest = await pushChart('0.3.1');
    const chart = await readFile(packaged.get('0.3.1')!);

    const head = await headManifest(registry.url, `charts/${CHART}`, '0.3.1');
    expect(head).toMatchObject({ status: 200, digest: pushedDigest });
    const served = await getManifest(registry.url, `charts/${CHART}`, '0.3.1');
    expect(served.digest).toBe(pushedDigest);
    expect(served.headerDigest).toBe(pushedDigest);
    // Helm writes no mediaType field; the registry serves it as an OCI image manifest.
    expect(served.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    const json = served.json as typeof served.json & { annotations?: Record<string, string> };
    expect(json.annotations).toMatchObject({
      'org.opencontainers.image.title': CHART,
      'org.opencontainers.image.version': '0.3.1',
    });

    const config = json.config!;
    expect(config.mediaType).toBe(HELM_CONFIG);
    const configBytes = await getBlob(registry.url, `charts/${CHART}`, config.digest);
    expect(configBytes.length).toBe(config.size);
    expect(sha256Digest(configBytes)).toBe(config.digest);
    expect(JSON.parse(configBytes.toString('utf8'))).toMatchObject<Partial<ChartConfig>>({
      name: CHART,
      version: '0.3.1',
      appVersion: '1.2.3',
      apiVersion: 'v2',
    });

    const layers = json.layers ?? [];
    expect(layers.map((l) => l.mediaType)).toEqual([HELM_CHART]);
    const layer = await getBlob(registry.url, `charts/${CHART}`, layers[0]!.digest);
    expect(sha256Digest(layer)).toBe(layers[0]!.digest);
    expect(layer.equals(chart)).toBe(true);
    expect(tarFile(readTar(layer), `${CHART}/Chart.yaml`).toString('utf8')).toMatch(/^version: 0\.3\.1$/m);

    const tags = (await (await fetch(`${registry.url}/v2/charts/${CHART}/tags/list`)).json()) as { tags: string[] };
    expect(tags.tags).toContain('0.3.1');
  });

  it('pulls the chart back byte for byte', { timeout: 120_000 }, async () => {
    const pushed = await headManifest(registry.url, `charts/${CHART}`, '0.3.1');
    const pulled = await pullChart(['--version', '0.3.1']);
    expect(pulled.file).toBe(`${CHART}-0.3.1.tgz`);
    expect(pulled.bytes.equals(await readFile(packaged.get('0.3.1')!)), pulled.output).toBe(true);
    expect(pulled.digest, pulled.output).toBe(pushed.digest);
  });

  it('shows and renders the chart straight from the registry', { timeout: 120_000 }, async () => {
    const show = await helm(['show', 'chart', chartRef(), '--version', '0.3.1', '--plain-http']);
    expect(show.stdout).toMatch(new RegExp(`^name: ${CHART}$`, 'm'));
    expect(show.stdout).toMatch(/^version: 0\.3\.1$/m);

    const rendered = await helm(['template', 'release', chartRef(), '--version', '0.3.1', '--plain-http']);
    expect(rendered.stdout).toMatch(/^kind: Deployment$/m);
    expect(rendered.stdout).toMatch(new RegExp(`name: release-${CHART}$`, 'm'));
  });

  it('resolves versions through the tag list: latest, a semver range, and a build version ("+" tagged as "_")', { timeout: 120_000 }, async () => {
    await pushChart('0.4.0');
    const buildDigest = await pushChart('1.0.0+build.7');
    // OCI tags cannot hold "+": helm tags 1.0.0+build.7 as 1.0.0_build.7 and maps it back.
    expect(await headManifest(registry.url, `charts/${CHART}`, '1.0.0_build.7')).toMatchObject({ status: 200, digest: buildDigest });
    const tags = (await (await fetch(`${registry.url}/v2/charts/${CHART}/tags/list`)).json()) as { tags: string[] };
    expect([...tags.tags].sort()).toEqual(['0.3.1', '0.4.0', '1.0.0_build.7']);

    const latest = await pullChart([]);
    expect(latest.file, latest.output).toBe(`${CHART}-1.0.0+build.7.tgz`);
    expect(latest.bytes.equals(await readFile(packaged.get('1.0.0+build.7')!))).toBe(true);

    const ranged = await pullChart(['--version', '~0.3']);
    expect(ranged.file, ranged.output).toBe(`${CHART}-0.3.1.tgz`);

    const exact = await pullChart(['--version', '0.4.0']);
    expect(exact.file).toBe(`${CHART}-0.4.0.tgz`);
    expect(exact.bytes.equals(await readFile(packaged.get('0.4.0')!))).toBe(true);
  });

  it('uploads the config and chart blobs so they verify (recorded)', { timeout: 120_000 }, async () => {
    const proxy = await startRecordingProxy(registry.url);
    try {
      const pushedDigest = await pushChart('0.3.1', `oci://${proxy.hostPort}/recorded`);
      const log = describeRequests(proxy.requests);
      if (process.env.CIRRUS_TEST_SHOW_REQUESTS) console.log(`helm push:\n${log}`);
      const served = await getManifest(registry.url, `recorded/${CHART}`, '0.3.1');
      expect(served.digest, log).toBe(pushedDigest);
      const failed = proxy.requests.filter((r) => r.status >= 500 || r.status === 0);
      expect(failed, log).toEqual([]);
      for (const blob of [served.json.config!, ...(served.json.layers ?? [])]) {
        const completed = proxy.requests.filter(
          (r) => r.method === 'PUT' && new URL(r.url, proxy.url).searchParams.get('digest') === blob.digest,
        );
        expect(completed.map((r) => r.status), `${blob.digest}\n${log}`).toEqual([201]);
        const bytes = await getBlob(registry.url, `recorded/${CHART}`, blob.digest);
        expect(sha256Digest(bytes)).toBe(blob.digest);
      }
      const chart = await getBlob(registry.url, `recorded/${CHART}`, served.json.layers![0]!.digest);
      expect(chart.equals(await readFile(packaged.get('0.3.1')!))).toBe(true);
    } finally {
      await proxy.close();
    }
  });
});
