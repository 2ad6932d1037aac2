/**
 * Port attributes ⇄ DynamoDB attribute values. Bytes map to B, numbers to N, maps and lists to M
 * and L, null to NULL; sets are never written. Decoded maps keep every key as an own property,
 * since map keys come from clients (annotations).
 *
 * A few names are stored escaped, by a bijection that leaves every other name as it is: one more
 * `~` before `pk` and `sk` at the top level (they name the table's key) and before `__proto__` at
 * any level (dynalite parses requests into plain objects and silently drops such a key). So
 * `pk` is stored as `~pk`, `~pk` as `~~pk`, `__proto__` as `~__proto__`.
 */
import type { AttributeValue as DynamoValue } from '@aws-sdk/client-dynamodb';
import type { AttributeValue, Attributes } from '../../ports/table.ts';

export function toDynamo(value: AttributeValue, path: string): DynamoValue {
  if (value === null) return { NULL: true };
  switch (typeof value) {
    case 'string':
      return { S: value };
    case 'boolean':
      return { BOOL: value };
    case 'number':
      // DynamoDB numbers: magnitudes 1e-130 up to below 1e126 (and 0); a double never needs more than its 38 digits.
      if (!Number.isFinite(value) || (value !== 0 && (Math.abs(value) < 1e-130 || Math.abs(value) >= 1e126))) {
        throw new TypeError(`${path}: ${value} is outside the numbers DynamoDB stores (finite, magnitude 1e-130 to 1e126)`);
      }
      return { N: String(value) };
    case 'object':
      if (value instanceof Uint8Array) return { B: value };
      if (Array.isArray(value)) return { L: value.map((v, i) => toDynamo(v, `${path}[${i}]`)) };
      return { M: toDynamoMap(value, path, storedKey) };
    default:
      throw new TypeError(`${path}: unsupported attribute value of type ${typeof value}`);
  }
}

function toDynamoMap(attrs: Attributes, path: string, names: (key: string) => string): Record<string, DynamoValue> {
  const out: Record<string, DynamoValue> = {};
  for (const key of Object.keys(attrs)) defineOwn(out, names(key), toDynamo(attrs[key] as AttributeValue, `${path}.${key}`));
  return out;
}

/** An item's attributes as top-level DynamoDB attributes, names escaped as above. */
export function toDynamoItem(attrs: Attributes): Record<string, DynamoValue> {
  return toDynamoMap(attrs, '$', storedName);
}

export function fromDynamoItem(attrs: Record<string, DynamoValue>): Attributes {
  return fromDynamoMap(attrs, '$', portName);
}

/** The stored name of a top-level attribute (see the escaping above). */
export function storedName(name: string): string {
  return /^~*(?:pk|sk|__proto__)$/.test(name) ? `~${name}` : name;
}

function portName(name: string): string {
  return /^~+(?:pk|sk|__proto__)$/.test(name) ? name.slice(1) : name;
}

function storedKey(key: string): string {
  return /^~*__proto__$/.test(key) ? `~${key}` : key;
}

function portKey(key: string): string {
  return /^~+__proto__$/.test(key) ? key.slice(1) : key;
}

export function fromDynamo(value: DynamoValue, path: string): AttributeValue {
  if (value.S !== undefined) return value.S;
  if (value.N !== undefined) return Number(value.N);
  if (value.BOOL !== undefined) return value.BOOL;
  if (value.NULL !== undefined) return null;
  // A fresh copy: the SDK's bytes may be a view into a larger response buffer.
  if (value.B !== undefined) return new Uint8Array(value.B);
  if (value.L !== undefined) return value.L.map((v, i) => fromDynamo(v, `${path}[${i}]`));
  if (value.M !== undefined) return fromDynamoMap(value.M, path, portKey);
  throw new TypeError(`${path}: unsupported DynamoDB attribute type ${Object.keys(value).join(',')}`);
}

function fromDynamoMap(map: Record<string, DynamoValue>, path: string, names: (key: string) => string): Attributes {
  const out: Attributes = {};
  for (const key of Object.keys(map)) defineOwn(out, names(key), fromDynamo(map[key] as DynamoValue, `${path}.${key}`));
  return out;
}

/** Plain assignment to `__proto__` would set the prototype instead of adding a key. */
function defineOwn<T>(target: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}
