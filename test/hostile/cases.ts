// Shorthands for the rows of the corpus tables.
import type { Answer, Case, Ctx } from './harness.ts';
import { head, type RawOptions, type Writer } from './raw-http.ts';

export type Expect = [status: number, code: string | null];
type Dyn<T> = T | ((ctx: Ctx) => T);
type Init = { headers?: Record<string, string>; body?: Uint8Array | string };

const resolve = <T>(value: Dyn<T>, ctx: Ctx): T => (typeof value === 'function' ? (value as (ctx: Ctx) => T)(ctx) : value);

/** A request fetch() can send as is. */
export function req(name: string, method: string, path: Dyn<string>, [status, code]: Expect, init?: Dyn<Init>, extra: Partial<Case> = {}): Case {
  return { name, expect: { status, code }, send: (ctx) => ctx.fetch(method, resolve(path, ctx), init && resolve(init, ctx)), ...extra };
}

/** A request written on a bare socket: a head built from method, raw target and headers, plus a body. */
export function raw(
  name: string,
  method: string,
  target: Dyn<string>,
  [status, code]: Expect,
  init: { headers?: Record<string, string | number>; body?: Uint8Array | string; options?: Partial<RawOptions> } = {},
  extra: Partial<Case> = {},
): Case {
  return {
    name,
    expect: { status, code },
    send: (ctx) => {
      const bytes = Buffer.concat([Buffer.from(head(method, resolve(target, ctx), init.headers, ctx.host.port), 'latin1'), Buffer.from(init.body ?? '')]);
      return ctx.raw(bytes, { head: method === 'HEAD', ...init.options });
    },
    ...extra,
  };
}

/** Bytes (or a pacing writer) sent verbatim on a bare socket; `make` gets the port for Host. */
export function rawBytes(
  name: string,
  make: (port: number) => Uint8Array | string | Writer,
  [status, code]: Expect,
  options: Partial<RawOptions> = {},
  extra: Partial<Case> = {},
): Case {
  return { name, expect: { status, code }, send: (ctx) => ctx.raw(make(ctx.host.port), options), ...extra };
}

/** A case whose request needs setup (a session, a pushed blob): `send` does both. */
export function custom(name: string, [status, code]: Expect, send: (ctx: Ctx) => Promise<Answer>, extra: Partial<Case> = {}): Case {
  return { name, expect: { status, code }, send, ...extra };
}
