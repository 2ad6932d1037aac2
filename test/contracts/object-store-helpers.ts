// Bytes, bodies and expectations shared by the object-store contract.
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { StorageError, type ObjectStore } from '../../core/ports/object-store.ts';

export function bytes(size: number): Buffer {
  return randomBytes(size);
}

export async function readAll(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/** The object's bytes, or undefined when it is absent. */
export async function content(store: ObjectStore, key: string): Promise<Buffer | undefined> {
  const stream = await store.get(key);
  return stream && readAll(stream);
}

/** Compares as hex so a failure shows where the bytes differ, not two megabyte dumps. */
export function expectBytes(actual: Uint8Array | undefined, expected: Uint8Array, what = 'bytes'): void {
  expect(actual, `${what} should exist`).toBeDefined();
  const a = Buffer.from(actual as Uint8Array);
  expect(a.byteLength, `${what} length`).toBe(expected.byteLength);
  if (!a.equals(expected)) expect(a.toString('hex'), what).toBe(Buffer.from(expected).toString('hex'));
}

/** `data` as an async iterable of chunks of the given sizes, cycled (0 yields an empty chunk). */
export async function* chunked(data: Uint8Array, sizes: readonly number[]): AsyncGenerator<Uint8Array> {
  let offset = 0;
  for (let i = 0; offset < data.byteLength; i++) {
    const size = sizes[i % sizes.length] as number;
    yield data.subarray(offset, offset + size);
    offset += size;
  }
}

/** A body that stops after `first` until `release()`; `reached` resolves once `first` was taken. */
export function gatedBody(first: Uint8Array, rest: Uint8Array): { body: AsyncIterable<Uint8Array>; reached: Promise<void>; release(): void } {
  let release: () => void = () => {};
  let reach: () => void = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  const reached = new Promise<void>((resolve) => (reach = resolve));
  async function* body(): AsyncGenerator<Uint8Array> {
    yield first;
    reach();
    await released;
    yield rest;
  }
  return { body: body(), reached, release };
}

/** A body that breaks off (a client that went away) after sending `first`. */
export async function* failingBody(first: Uint8Array): AsyncGenerator<Uint8Array> {
  yield first;
  await new Promise((resolve) => setTimeout(resolve, 10));
  throw new Error('the client went away');
}

export async function expectStorageError(operation: Promise<unknown>, reason: StorageError['reason']): Promise<void> {
  const error = await operation.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `should fail with StorageError '${reason}'`).toBeInstanceOf(StorageError);
  expect((error as StorageError).reason).toBe(reason);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Edits a signed URL, keeping a relative one relative (the filesystem store signs paths). */
export function editUrl(url: string, edit: (u: URL) => void): string {
  const relative = !/^[a-z][a-z0-9+.-]*:/i.test(url);
  const parsed = new URL(url, 'http://placeholder.invalid');
  edit(parsed);
  return relative ? `${parsed.pathname}${parsed.search}` : parsed.href;
}

/** Changes the first character of the signature parameter (whatever the store calls it). */
export function tamperSignature(url: string): string {
  return editUrl(url, (u) => {
    const name = [...u.searchParams.keys()].find((k) => /signature/i.test(k));
    expect(name, 'a signed URL carries a signature parameter').toBeDefined();
    const value = u.searchParams.get(name as string) as string;
    u.searchParams.set(name as string, (value.startsWith('a') ? 'b' : 'a') + value.slice(1));
  });
}
