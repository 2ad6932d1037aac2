// Helpers shared by the crash tests.
import { createHash } from 'node:crypto';
import { expect } from 'vitest';

export const DEADLINE_MS = 30_000;

export function sha256(bytes: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Fails instead of hanging when a promise (a request) does not settle in time. */
export function withDeadline<T>(promise: Promise<T>, ms = DEADLINE_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** An OCI error answer: status, JSON, and a first error with the given spec code. */
export async function expectOciError(res: Response, status: number, code: string): Promise<void> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  const body = JSON.parse(text) as { errors?: Array<{ code?: string; message?: string }> };
  expect(body.errors?.[0]?.code, text).toBe(code);
  expect(body.errors?.[0]?.message).toBeTruthy();
}
