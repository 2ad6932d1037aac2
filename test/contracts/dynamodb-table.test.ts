// The table contract against the DynamoDB adapter, on dynalite (started once for this file) with a
// table of its own, deleted at the end. A few checks of the adapter's own mapping follow.
import { randomUUID } from 'node:crypto';
import { DeleteTableCommand, GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Attributes } from '../../core/ports/table.ts';
import { DynamoDbTable } from '../../core/storage/dynamodb/dynamodb-table.ts';
import { startDynalite, type LocalDynamo } from '../support/aws-servers.ts';
import { cleanUp } from '../support/tmp.ts';
import { tableContract } from './table-contract.ts';
import { expectSameAttribute } from './table-expectations.ts';

interface Opened {
  server: LocalDynamo;
  client: DynamoDBClient;
  table: DynamoDbTable;
  tableName: string;
  cleanup(): Promise<void>;
}

async function openTable(): Promise<Opened> {
  const server = await startDynalite();
  const client = server.client();
  const tableName = `cirrus-contract-${randomUUID().slice(0, 8)}`;
  try {
    const table = new DynamoDbTable({ client, tableName });
    await table.createTableIfMissing();
    return {
      server,
      client,
      table,
      tableName,
      cleanup: () =>
        cleanUp(async () => {
          await client.send(new DeleteTableCommand({ TableName: tableName }));
          client.destroy();
        }).finally(() => server.stop()),
    };
  } catch (error) {
    client.destroy();
    await server.stop();
    throw error;
  }
}

tableContract('DynamoDbTable on dynalite', async () => {
  const { table, cleanup } = await openTable();
  return { table, cleanup };
});

describe('DynamoDbTable on dynalite, beyond the contract', () => {
  let opened: Opened;
  beforeAll(async () => {
    opened = await openTable();
  });
  afterAll(async () => {
    await opened?.cleanup();
  });

  it('createTableIfMissing is idempotent', async () => {
    await opened.table.createTableIfMissing();
    await opened.table.createTableIfMissing();
  });

  it('attributes named like the key, or __proto__, are stored escaped and come back as written', async () => {
    const pk = `escape-${randomUUID()}`;
    const attrs = JSON.parse(
      '{"pk": "p", "sk": "s", "~pk": 1, "~~sk": 2, "__proto__": {"__proto__": 3, "~__proto__": 4}, "pkx": 5}',
    ) as Attributes;
    await opened.table.put({ pk, sk: 'x', attrs });
    const item = await opened.table.get(pk, 'x');
    expect(item?.pk).toBe(pk);
    expect(item?.sk).toBe('x');
    expectSameAttribute(item?.attrs, attrs);
    // The key attributes themselves are untouched; the clashing names moved aside.
    const raw = await opened.client.send(new GetItemCommand({ TableName: opened.tableName, Key: { pk: { S: pk }, sk: { S: 'x' } } }));
    expect(Object.keys(raw.Item ?? {}).sort()).toEqual(['pk', 'pkx', 'sk', '~__proto__', '~pk', '~sk', '~~pk', '~~~sk'].sort());
    expect(raw.Item?.pk).toEqual({ S: pk });
    // Updates and conditions name them the same way.
    const updated = await opened.table.update(pk, 'x', { sk: 'changed', pk: undefined }, { kind: 'equals', attr: 'sk', value: 's' });
    expect(updated.attrs.sk).toBe('changed');
    expect('pk' in updated.attrs).toBe(false);
    await opened.table.delete(pk, 'x', { kind: 'equals', attr: 'sk', value: 'changed' });
    expect(await opened.table.get(pk, 'x')).toBeUndefined();
  });

  it('numbers round-trip through DynamoDB decimal strings', async () => {
    const pk = `numbers-${randomUUID()}`;
    const attrs = { a: 1e21, b: 1.5e-130, c: -0.000001, d: 123456789.123456, e: 2 ** 53 - 1, f: -9.99e125, g: 0 };
    await opened.table.put({ pk, sk: 'x', attrs });
    expectSameAttribute((await opened.table.get(pk, 'x'))?.attrs, attrs);
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, 5e-324, 1e126]) {
      await expect(opened.table.put({ pk, sk: 'y', attrs: { bad } })).rejects.toThrow(/outside the numbers DynamoDB stores/);
    }
    await opened.table.delete(pk, 'x');
  });
});
