/**
 * Attributes as JSON text for stores without a native binary type: bytes become {"$bytes": base64}.
 * Shared by adapters that serialise items (SQLite); DynamoDB maps bytes to its own B type.
 */
import type { Attributes } from '../ports/table.ts';

const BYTES = '$bytes';

export function encodeAttributes(attrs: Attributes): string {
  // The holder's raw value, not `value`: a Buffer's toJSON has already run by the time `value` arrives.
  return JSON.stringify(attrs, function (this: Record<string, unknown>, key: string, value: unknown) {
    const raw = this[key];
    return raw instanceof Uint8Array ? { [BYTES]: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64') } : value;
  });
}

export function decodeAttributes(text: string): Attributes {
  // The reviver is slow; most items (tags, links) hold no bytes.
  if (!text.includes(`"${BYTES}"`)) return JSON.parse(text) as Attributes;
  return JSON.parse(text, (_key, value: unknown) => {
    if (value !== null && typeof value === 'object' && BYTES in value) {
      return new Uint8Array(Buffer.from((value as Record<string, string>)[BYTES] as string, 'base64'));
    }
    return value;
  }) as Attributes;
}

/** The smallest string greater than every string starting with `prefix` (for range scans). */
export function prefixUpperBound(prefix: string): string | undefined {
  if (prefix === '') return undefined;
  const last = prefix.charCodeAt(prefix.length - 1);
  return prefix.slice(0, -1) + String.fromCharCode(last + 1);
}
