/**
 * JSON.parse keeps the last of duplicate keys silently; two readers of the same manifest could
 * then disagree on what it references. This scanner finds a repeated key in already-valid JSON.
 * It is iterative, so deeply nested input cannot exhaust the stack.
 */
export function findDuplicateKey(text: string): string | undefined {
  const scopes: Array<Set<string> | null> = []; // null marks an array scope
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '"') {
      const end = endOfString(text, i);
      const scope = scopes[scopes.length - 1];
      if (scope && nextSignificant(text, end) === ':') {
        const key = JSON.parse(text.slice(i, end)) as string;
        if (scope.has(key)) return key;
        scope.add(key);
      }
      i = end;
      continue;
    }
    if (ch === '{') scopes.push(new Set());
    else if (ch === '[') scopes.push(null);
    else if (ch === '}' || ch === ']') scopes.pop();
    i++;
  }
  return undefined;
}

/** Index just past the closing quote of the string starting at `start`. */
function endOfString(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '\\') i += 2;
    else if (ch === '"') return i + 1;
    else i++;
  }
  return i;
}

function nextSignificant(text: string, from: number): string | undefined {
  let i = from;
  while (i < text.length && ' \t\r\n'.includes(text[i] as string)) i++;
  return text[i];
}
