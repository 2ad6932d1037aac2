/**
 * DynamoDB expressions with every attribute name and value behind a placeholder, so names such
 * as `a.b`, `#c` or reserved words (`size`, `status`) need no escaping rules of their own.
 */
import type { AttributeValue as DynamoValue } from '@aws-sdk/client-dynamodb';
import type { AttributeValue, Condition } from '../../ports/table.ts';
import { storedName, toDynamo } from './attribute-values.ts';

export class Expressions {
  private readonly names: Record<string, string> = {};
  private readonly values: Record<string, DynamoValue> = {};
  private readonly nameIds = new Map<string, string>();
  private valueCount = 0;

  name(attr: string): string {
    let id = this.nameIds.get(attr);
    if (id === undefined) {
      id = `#n${this.nameIds.size}`;
      this.nameIds.set(attr, id);
      this.names[id] = attr;
    }
    return id;
  }

  value(value: AttributeValue): string {
    const id = `:v${this.valueCount++}`;
    this.values[id] = toDynamo(value, id);
    return id;
  }

  /** Placeholder maps for a request; DynamoDB refuses empty ones. */
  attributes(): { ExpressionAttributeNames?: Record<string, string>; ExpressionAttributeValues?: Record<string, DynamoValue> } {
    return {
      ...(this.nameIds.size > 0 ? { ExpressionAttributeNames: this.names } : {}),
      ...(this.valueCount > 0 ? { ExpressionAttributeValues: this.values } : {}),
    };
  }
}

/** The port's conditions; an item exists when it has its key attribute `pk`. */
export function conditionExpression(condition: Condition, x: Expressions): string {
  // Placeholders are made only for what the expression uses: DynamoDB refuses unused ones.
  const exists = () => `attribute_exists(${x.name('pk')})`;
  switch (condition.kind) {
    case 'absent':
      return `attribute_not_exists(${x.name('pk')})`;
    case 'exists':
      return exists();
    case 'equals':
      // A missing attribute never equals anything, so this also requires the item.
      return `${x.name(storedName(condition.attr))} = ${x.value(condition.value)}`;
    case 'lessThan': {
      // As in condition.ts: a missing or null attribute counts as less; a non-number never does.
      const attr = x.name(storedName(condition.attr));
      return `${exists()} AND (attribute_not_exists(${attr}) OR attribute_type(${attr}, ${x.value('NULL')}) OR ${attr} < ${x.value(condition.value)})`;
    }
  }
}
