/** The metrics middleware and its two sinks (Prometheus text, CloudWatch EMF), through app.request(). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistryApp, emfSink, PrometheusMetrics, silentLogger } from '../../core/http/index.ts';
import { createTestApp, RegistryClient, appTransport, type TestApp, UNKNOWN_DIGEST } from '../support/app.ts';

let t: TestApp;
let metrics: PrometheusMetrics;
let client: RegistryClient;
const emf: string[] = [];
beforeAll(async () => {
  t = await createTestApp();
  metrics = new PrometheusMetrics();
  const prometheusAndEmf = {
    record: (s: Parameters<PrometheusMetrics['record']>[0]) => {
      metrics.record(s);
      emfSink({ service: 'registry', namespace: 'Test', write: (l) => emf.push(l), now: () => 1_700_000_000_000 }).record(s);
    },
  };
  client = new RegistryClient(appTransport(createRegistryApp({ registry: t.registry, log: silentLogger, http: {}, metrics: prometheusAndEmf })));
});
afterAll(async () => {
  await t?.close();
});

describe('metrics', () => {
  it('counts requests by route and status, errors by OCI code, redirects, sessions, bytes by project', async () => {
    const image = await client.pushImage('acme/tool', 'v1', { layers: 2 });
    await client.get(`/v2/acme/tool/blobs/${image.layers[0] ? (await client.head(`/v2/acme/tool/manifests/v1`)).headers.get('docker-content-digest') : ''}`);
    await client.get(`/v2/acme/tool/blobs/${UNKNOWN_DIGEST}`);
    await client.get('/v2/solo/manifests/missing');
    await client.startUpload('acme/tool');
    const layerDigest = JSON.parse(new TextDecoder().decode(image.bytes)).layers[0].digest as string;
    expect((await client.get(`/v2/acme/tool/blobs/${layerDigest}`)).status).toBe(307);

    expect(metrics.requests.get({ method: 'PUT', route: 'manifest', status: '201' })).toBe(1);
    expect(metrics.requests.get({ method: 'POST', route: 'upload-start', status: '201' })).toBe(3);
    expect(metrics.errors.get({ code: 'BLOB_UNKNOWN' })).toBe(2);
    expect(metrics.errors.get({ code: 'MANIFEST_UNKNOWN' })).toBe(1);
    expect(metrics.redirects.get()).toBe(1);
    expect(metrics.uploadSessions.get()).toBe(1);
    const bytes = image.config.byteLength + image.layers.reduce((n, l) => n + l.byteLength, 0);
    expect(metrics.bytesCommitted.get({ project: 'acme' })).toBe(bytes);

    const text = metrics.render();
    expect(text).toMatch(/^cirrus_errors_total\{code="BLOB_UNKNOWN"\} 2$/m);
    expect(text).toMatch(/^cirrus_blob_bytes_committed_total\{project="acme"\} \d+$/m);
    expect(text).toMatch(/^cirrus_http_request_duration_seconds_count\{route="manifest"\} \d+$/m);
    for (const line of text.trim().split('\n')) expect(line).toMatch(/^(# (HELP|TYPE) \w+ .+|\w+(\{[^}]*\})? [\d.e+-]+)$/);
  });

  it('writes valid EMF: the metric values sit beside the directives that name them', () => {
    expect(emf.length).toBeGreaterThan(5);
    for (const line of emf) {
      expect(line.endsWith('\n')).toBe(true);
      const doc = JSON.parse(line) as { _aws: { Timestamp: number; CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string }> }> } } & Record<string, unknown>;
      expect(doc._aws.Timestamp).toBe(1_700_000_000_000);
      for (const directive of doc._aws.CloudWatchMetrics) {
        expect(directive.Namespace).toBe('Test');
        for (const dims of directive.Dimensions) for (const d of dims) expect(typeof doc[d]).toBe('string');
        for (const m of directive.Metrics) expect(typeof doc[m.Name]).toBe('number');
      }
    }
  });
});
