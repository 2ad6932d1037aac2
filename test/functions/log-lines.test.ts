// One log line shape everywhere: `{time, level, event, ...fields}`, whoever writes it.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { jsonLogger } from '../../core/http/logger.ts';
import { logDeletion } from '../../functions/shared/aws-deps.ts';

afterEach(() => vi.restoreAllMocks());

describe('log lines', () => {
  it('jsonLogger writes {time, level, event, ...fields}, one line each', () => {
    const lines: string[] = [];
    const log = jsonLogger((line) => lines.push(line));
    log.warn('auth-off', { why: 'CIRRUS_AUTH=off' });
    expect(lines).toHaveLength(1);
    expect(lines[0]!.endsWith('\n')).toBe(true);
    expect(JSON.parse(lines[0]!)).toEqual({ time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), level: 'warn', event: 'auth-off', why: 'CIRRUS_AUTH=off' });
  });

  it('the GC tasks log each deletion in that shape, at once', () => {
    const written: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (written.push(String(chunk)), true));
    logDeletion({ runId: 'r1', dryRun: false, kind: 'blobs', id: 'sha256:ab', bytes: 3 });
    expect(written.map((l) => JSON.parse(l))).toEqual([
      { time: expect.any(String), level: 'info', event: 'gc.delete', runId: 'r1', dryRun: false, kind: 'blobs', id: 'sha256:ab', bytes: 3 },
    ]);
  });
});
