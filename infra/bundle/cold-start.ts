/**
 * The registry function's cold start as `npm run bundle` prints it: a fresh Node process (the
 * Node running this, the project's 22) imports the built bundle and answers one Function URL
 * `GET /v2/`; it reports the milliseconds from its own start to the answer and its RSS then.
 * It runs with --enable-source-maps, as RegistryFunction's NODE_OPTIONS does on Lambda. Lambda
 * adds its own init around this, and reads Secrets Manager when the origin lock and auth are on
 * (which loads that SDK chunk); here both are off (no AWS to ask), so no storage is touched.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface ColdStart {
  /** From the process's time origin to the handler's answer. */
  ms: number;
  /** CPU (user + system) the process used until then: less disturbed by a busy machine than `ms`. */
  cpuMs: number;
  rssBytes: number;
  status: number;
}

const PROBE = `
const { handler } = await import(process.env.CIRRUS_COLD_START_BUNDLE);
const event = {
  version: '2.0', routeKey: '$default', rawPath: '/v2/', rawQueryString: '', isBase64Encoded: false,
  headers: { host: 'abc.lambda-url.eu-west-1.on.aws', 'x-forwarded-proto': 'https' },
  requestContext: { accountId: 'anonymous', apiId: 'abc', domainName: 'abc.lambda-url.eu-west-1.on.aws', domainPrefix: 'abc',
    http: { method: 'GET', path: '/v2/', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'cold-start' },
    requestId: 'cold-start', routeKey: '$default', stage: '$default', time: '', timeEpoch: 0 },
};
const result = await handler(event, {});
const ms = performance.now();
const cpu = process.cpuUsage();
process.stderr.write(JSON.stringify({ ms, cpuMs: (cpu.user + cpu.system) / 1000, rssBytes: process.memoryUsage.rss(), status: result.statusCode }) + '\\n');
`;

/** Median of `runs` fresh processes (each run is one cold start). */
export function measureColdStart(bundleDir: string, runs = 5): ColdStart {
  const results: ColdStart[] = [];
  for (let i = 0; i < runs; i++) {
    const child = spawnSync(process.execPath, ['--enable-source-maps', '--input-type=module', '-e', PROBE], {
      env: {
        PATH: process.env.PATH,
        CIRRUS_COLD_START_BUNDLE: pathToFileURL(join(bundleDir, 'index.mjs')).href,
        CIRRUS_TABLE: 'cirrus',
        CIRRUS_BUCKET: 'cirrus',
        CIRRUS_ORIGIN_LOCK: 'off',
        CIRRUS_AUTH: 'off',
        AWS_REGION: 'eu-west-1',
        AWS_ACCESS_KEY_ID: 'cold-start',
        AWS_SECRET_ACCESS_KEY: 'cold-start',
      },
      encoding: 'utf8',
    });
    const line = child.stderr.split('\n').find((l) => l.startsWith('{"ms"'));
    if (child.status !== 0 || !line) throw new Error(`cold start probe failed (${child.status}):\n${child.stderr}`);
    results.push(JSON.parse(line) as ColdStart);
  }
  results.sort((a, b) => a.ms - b.ms);
  return results[Math.floor(results.length / 2)]!;
}
