// Expectations shared by the table contract. Attributes are compared strictly: bytes come back as a
// Uint8Array (a Buffer is one) with the same content, numbers are the same number, and maps carry
// exactly the same own keys (a key such as `__proto__` must stay a key, not become a prototype).
import { expect } from 'vitest';
import { ConditionFailedError, type AttributeValue } from '../../core/ports/table.ts';

export function expectSameAttribute(actual: unknown, expected: AttributeValue, path = '$'): void {
  if (expected instanceof Uint8Array) {
    expect(actual instanceof Uint8Array, `${path} should be a Uint8Array`).toBe(true);
    expect(Buffer.from(actual as Uint8Array).toString('hex'), `${path} bytes`).toBe(Buffer.from(expected).toString('hex'));
    return;
  }
  if (Array.isArray(expected)) {
    expect(Array.isArray(actual), `${path} should be a list`).toBe(true);
    const list = actual as unknown[];
    expect(list.length, `${path} length`).toBe(expected.length);
    expected.forEach((value, i) => expectSameAttribute(list[i], value, `${path}[${i}]`));
    return;
  }
  if (expected !== null && typeof expected === 'object') {
    expect(actual !== null && typeof actual === 'object' && !Array.isArray(actual) && !(actual instanceof Uint8Array), `${path} should be a map`).toBe(true);
    const map = actual as Record<string, unknown>;
    expect(Object.keys(map).sort(), `${path} keys`).toEqual(Object.keys(expected).sort());
    for (const key of Object.keys(expected)) {
      expect(Object.prototype.hasOwnProperty.call(map, key), `${path}.${key} should be an own key`).toBe(true);
      expectSameAttribute(map[key], expected[key] as AttributeValue, `${path}.${key}`);
    }
    return;
  }
  expect(typeof actual, `${path} type`).toBe(typeof expected);
  expect(Object.is(actual, expected), `${path}: ${String(actual)} should be ${String(expected)}`).toBe(true);
}

/** The write must reject with the port's ConditionFailedError naming the item. */
export async function expectConditionFailed(write: Promise<unknown>, pk: string, sk: string): Promise<void> {
  const error = await write.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'the write should fail its condition').toBeInstanceOf(ConditionFailedError);
  expect(error).toMatchObject({ pk, sk });
}
