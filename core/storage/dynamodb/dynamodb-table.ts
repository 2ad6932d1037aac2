/**
 * `Table` on DynamoDB (AWS SDK v3). One table keyed by `pk` (HASH, S) and `sk` (RANGE, S); the
 * item's attributes are top-level DynamoDB attributes (bytes as B), so they stay readable in the
 * console and usable in expressions. Conditions are ConditionExpressions, evaluated by DynamoDB
 * atomically with the write; a failed one changes nothing and surfaces as ConditionFailedError.
 * Reads are strongly consistent: the registry reads its own writes (a tag right after its push).
 * Only single-item operations are used (no transactions, TTL or streams), as the port promises.
 *
 * Limits that DynamoDB adds to the port: keys are non-empty strings; an item stops at 400 KB;
 * numbers lie within 1e-130..1e126 in magnitude. Attributes named `pk`, `sk` or `__proto__` are
 * stored under escaped names (attribute-values.ts). Sort keys order by their UTF-8 bytes, as the
 * port says; JavaScript's `<` differs beyond U+FFFF, so comparisons here go through compareUtf8.
 */
import {
  CreateTableCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  UpdateItemCommand,
  waitUntilTableExists,
  type AttributeValue as DynamoValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { ConditionFailedError, type AttributeValue, type Condition, type Item, type QueryOptions, type QueryPage, type Table } from '../../ports/table.ts';
import { fromDynamoItem, storedName, toDynamoItem } from './attribute-values.ts';
import { conditionExpression, Expressions } from './expressions.ts';

const MAX_PAGE = 1000;

export interface DynamoDbTableOptions {
  client: DynamoDBClient;
  tableName: string;
}

export class DynamoDbTable implements Table {
  private readonly client: DynamoDBClient;
  private readonly tableName: string;

  constructor(options: DynamoDbTableOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
  }

  /** Creates the table (on-demand billing) unless it exists, and waits until it is ACTIVE. For tests and local mode; infra creates the real one. */
  async createTableIfMissing(): Promise<void> {
    try {
      await this.client.send(
        new CreateTableCommand({
          TableName: this.tableName,
          AttributeDefinitions: [
            { AttributeName: 'pk', AttributeType: 'S' },
            { AttributeName: 'sk', AttributeType: 'S' },
          ],
          KeySchema: [
            { AttributeName: 'pk', KeyType: 'HASH' },
            { AttributeName: 'sk', KeyType: 'RANGE' },
          ],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
    } catch (error) {
      if (errorName(error) !== 'ResourceInUseException') throw error;
    }
    const described = await this.client.send(new DescribeTableCommand({ TableName: this.tableName }));
    if (described.Table?.TableStatus !== 'ACTIVE') {
      await waitUntilTableExists({ client: this.client, maxWaitTime: 120, minDelay: 1, maxDelay: 5 }, { TableName: this.tableName });
    }
  }

  async get(pk: string, sk: string): Promise<Item | undefined> {
    const out = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: key(pk, sk), ConsistentRead: true }));
    return out.Item ? toItem(out.Item) : undefined;
  }

  async put(item: Item, condition?: Condition): Promise<void> {
    const x = new Expressions();
    const expression = condition ? conditionExpression(condition, x) : undefined;
    await this.conditionally(item.pk, item.sk, () =>
      this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: { ...toDynamoItem(item.attrs), ...key(item.pk, item.sk) },
          ...(expression ? { ConditionExpression: expression, ...x.attributes() } : {}),
        }),
      ),
    );
  }

  async update(pk: string, sk: string, set: { [key: string]: AttributeValue | undefined }, condition?: Condition): Promise<Item> {
    const names = Object.keys(set);
    const x = new Expressions();
    const assignments: string[] = [];
    const removals: string[] = [];
    for (const name of names) {
      const value = set[name];
      if (value === undefined) removals.push(x.name(storedName(name)));
      else assignments.push(`${x.name(storedName(name))} = ${x.value(value)}`);
    }
    const clauses = [
      ...(assignments.length > 0 ? [`SET ${assignments.join(', ')}`] : []),
      ...(removals.length > 0 ? [`REMOVE ${removals.join(', ')}`] : []),
    ];
    const expression = condition ? conditionExpression(condition, x) : undefined;
    const out = await this.conditionally(pk, sk, () =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: key(pk, sk),
          // With no clause at all, UpdateItem still creates the (empty) item, as the port wants.
          ...(clauses.length > 0 ? { UpdateExpression: clauses.join(' ') } : {}),
          ...(expression ? { ConditionExpression: expression } : {}),
          ...x.attributes(),
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    return out.Attributes ? toItem(out.Attributes) : { pk, sk, attrs: {} };
  }

  async delete(pk: string, sk: string, condition?: Condition): Promise<void> {
    const x = new Expressions();
    const expression = condition ? conditionExpression(condition, x) : undefined;
    await this.conditionally(pk, sk, () =>
      this.client.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: key(pk, sk),
          ...(expression ? { ConditionExpression: expression, ...x.attributes() } : {}),
        }),
      ),
    );
  }

  async query(pk: string, options: QueryOptions = {}): Promise<QueryPage> {
    const limit = Math.min(Math.max(options.limit ?? MAX_PAGE, 1), MAX_PAGE);
    const prefix = options.prefix ?? '';
    let after = options.after === '' ? undefined : options.after;
    if (prefix !== '' && after !== undefined && !after.startsWith(prefix)) {
      // DynamoDB refuses a start key outside the key condition; decide here instead.
      if (compareUtf8(after, prefix) > 0) return { items: [] }; // past every key with this prefix
      after = undefined; // before every key with this prefix
    }
    const x = new Expressions();
    const keyCondition = `${x.name('pk')} = ${x.value(pk)}` + (prefix === '' ? '' : ` AND begins_with(${x.name('sk')}, ${x.value(prefix)})`);
    // One item more than asked tells whether a next page exists. DynamoDB may stop early (1 MB
    // per response), so keep asking until the page is full or the partition is exhausted.
    const rows: Record<string, DynamoValue>[] = [];
    let start: Record<string, DynamoValue> | undefined = after === undefined ? undefined : key(pk, after);
    do {
      const out = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: keyCondition,
          ...x.attributes(),
          ConsistentRead: true,
          Limit: limit + 1 - rows.length,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      rows.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start !== undefined && rows.length <= limit);
    const items = rows.slice(0, limit).map(toItem);
    const last = items[items.length - 1];
    return rows.length > limit && last ? { items, next: last.sk } : { items };
  }

  /**
   * A Scan filtered by prefix, in DynamoDB's order (by hash, not by key): `next` is an opaque
   * cursor, the key of the last item read. A partition's items are contiguous in a scan, so a
   * page ends only where a new partition starts and no key is returned twice. Reads the whole
   * table over all pages; maintenance only (GC), never the request path.
   */
  async scanPartitions(prefix: string, options: { limit?: number; after?: string } = {}): Promise<{ keys: string[]; next?: string }> {
    const limit = Math.min(Math.max(options.limit ?? MAX_PAGE, 1), MAX_PAGE);
    const x = new Expressions();
    const filter = prefix === '' ? {} : { FilterExpression: `begins_with(${x.name('pk')}, ${x.value(prefix)})` };
    const cursor = options.after ? decodeCursor(options.after) : undefined;
    const keys: string[] = [];
    let start = cursor ? key(cursor.pk, cursor.sk) : undefined;
    // The partition the cursor stopped in was returned already, even if more of its items follow.
    let current = cursor?.pk;
    let lastRead: { pk: string; sk: string } | undefined;
    do {
      const out = await this.client.send(
        new ScanCommand({
          TableName: this.tableName,
          ProjectionExpression: `${x.name('pk')}, ${x.name('sk')}`,
          ...filter,
          ...x.attributes(),
          ConsistentRead: true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const row of out.Items ?? []) {
        const pk = row.pk?.S as string;
        if (pk !== current) {
          if (keys.length === limit && lastRead) return { keys, next: encodeCursor(lastRead) };
          keys.push(pk);
          current = pk;
        }
        lastRead = { pk, sk: row.sk?.S as string };
      }
      start = out.LastEvaluatedKey;
    } while (start !== undefined);
    return { keys };
  }

  private async conditionally<T>(pk: string, sk: string, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (error) {
      if (errorName(error) === 'ConditionalCheckFailedException') throw new ConditionFailedError(pk, sk);
      throw error;
    }
  }
}

function key(pk: string, sk: string): Record<string, DynamoValue> {
  return { pk: { S: pk }, sk: { S: sk } };
}

function toItem(row: Record<string, DynamoValue>): Item {
  const { pk, sk, ...attrs } = row;
  return { pk: pk?.S ?? '', sk: sk?.S ?? '', attrs: fromDynamoItem(attrs) };
}

function encodeCursor(at: { pk: string; sk: string }): string {
  return Buffer.from(JSON.stringify([at.pk, at.sk])).toString('base64url');
}

function decodeCursor(cursor: string): { pk: string; sk: string } {
  const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!Array.isArray(parsed) || typeof parsed[0] !== 'string' || typeof parsed[1] !== 'string') throw new TypeError('malformed scan cursor');
  return { pk: parsed[0], sk: parsed[1] };
}

/** DynamoDB orders strings by their UTF-8 bytes, which JavaScript's `<` does not do beyond U+FFFF. */
function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function errorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}
