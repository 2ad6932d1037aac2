/**
 * Attributes as JSON text for stores without a native binary type: bytes become {"$bytes": base64}.
 * Map keys starting with `$` are stored with one more `$` (`$bytes` → `$$bytes`), so a map that
 * came from a client (annotations) can never pass for bytes. Shared by adapters that serialise
 * items (SQLite); DynamoDB maps bytes to its own B type.
 */
import type { Attributes } from '../ports/table.ts';

const BYTES = '$bytes';
const DOLLAR = 0x24;

export function encodeAttributes(attrs: Attributes): string {
  // The holder's raw value, not `value`: a Buffer's toJSON has already run by the time `value` arrives.
  return JSON.stringify(attrs, function (this: Record<string, unknown>, key: string, value: unknown) {
    const raw = this[key];
    if (raw instanceof Uint8Array) return { [BYTES]: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64') };
    if (raw !== null && typeof raw === 'object' && !Array.isArray(raw) && hasDollarKey(raw)) {
      return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k.charCodeAt(0) === DOLLAR ? `$${k}` : k, v]));
    }
    return value;
  });
}

export function decodeAttributes(text: string): Attributes {
  // The reviver is slow; most items (tags, links) hold neither bytes nor `$` keys.
  if (!text.includes('"$')) return JSON.parse(text) as Attributes;
  return JSON.parse(text, (_key, value: unknown) => {
    if (value === null || typeof value !== 'object' || Array.isArray(value) || !hasDollarKey(value)) return value;
    const entries = Object.entries(value);
    const [only] = entries;
    if (entries.length === 1 && only?.[0] === BYTES && typeof only[1] === 'string') return new Uint8Array(Buffer.from(only[1], 'base64'));
    return Object.fromEntries(entries.map(([k, v]) => [k.charCodeAt(0) === DOLLAR ? k.slice(1) : k, v]));
  }) as Attributes;
}

function hasDollarKey(map: object): boolean {
  return Object.keys(map).some((k) => k.charCodeAt(0) === DOLLAR);
}

/**
 * The smallest string greater than every string starting with `prefix` (for range scans), by code
 * point, which is UTF-8 byte order: the last code point that has a successor is incremented (past
 * the surrogate block) and what follows it dropped. Undefined when no string bounds them all.
 */
export function prefixUpperBound(prefix: string): string | undefined {
  const points = Array.from(prefix);
  while (points.length > 0) {
    const last = (points.pop() as string).codePointAt(0) as number;
    if (last < 0x10ffff) return points.join('') + String.fromCodePoint(last === 0xd7ff ? 0xe000 : last + 1);
  }
  return undefined;
}
