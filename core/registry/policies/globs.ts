/**
 * Tag globs for retention and immutability rules: `*` matches any run of characters (tags have
 * no `/`, so there is no `**`), `?` one character; everything else is literal. A glob matches
 * the whole tag.
 */
const GLOB = /^[A-Za-z0-9_.*?-]{1,128}$/;

export function isGlob(pattern: string): boolean {
  return GLOB.test(pattern);
}

export function globMatches(pattern: string, text: string): boolean {
  // Iterative wildcard match with one backtrack point: linear in practice, no regex to escape.
  let p = 0;
  let t = 0;
  let star = -1;
  let mark = 0;
  while (t < text.length) {
    const c = pattern[p];
    if (c === '?' || (c !== undefined && c !== '*' && c === text[t])) {
      p++;
      t++;
    } else if (c === '*') {
      star = p++;
      mark = t;
    } else if (star >= 0) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

export function matchesAny(patterns: readonly string[], text: string): boolean {
  return patterns.some((p) => globMatches(p, text));
}
