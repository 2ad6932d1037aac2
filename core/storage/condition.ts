/** Evaluates a single-item condition against the item as it is now (for adapters without native conditions). */
import type { Condition, Item } from '../ports/table.ts';

export function conditionHolds(condition: Condition | undefined, current: Item | undefined): boolean {
  if (condition === undefined) return true;
  switch (condition.kind) {
    case 'absent':
      return current === undefined;
    case 'exists':
      return current !== undefined;
    case 'equals':
      return current !== undefined && current.attrs[condition.attr] === condition.value;
    case 'lessThan': {
      if (current === undefined) return false;
      const value = current.attrs[condition.attr];
      return value === undefined || value === null || (typeof value === 'number' && value < condition.value);
    }
  }
}
