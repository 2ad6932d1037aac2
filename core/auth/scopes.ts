/**
 * Scopes of Docker's token spec: `repository:<name>:<actions>` and `registry:catalog:*`, as a
 * client asks for them and as a token's `access` claim lists what was granted.
 * https://distribution.github.io/distribution/spec/auth/scope/
 */

export type Action = 'pull' | 'push' | 'delete' | '*';

/** One entry of a token's `access` claim. */
export interface Scope {
  type: string;
  name: string;
  actions: string[];
}

export const CATALOG_SCOPE: Scope = { type: 'registry', name: 'catalog', actions: ['*'] };

/**
 * Parses `type:name:actions`. The name may itself hold a colon (`host:5000/repo`), so the type
 * ends at the first colon and the actions start after the last. Undefined when malformed.
 */
export function parseScope(text: string): Scope | undefined {
  const first = text.indexOf(':');
  const last = text.lastIndexOf(':');
  if (first <= 0 || last === first) return undefined;
  const type = text.slice(0, first);
  const name = text.slice(first + 1, last);
  const actions = text.slice(last + 1).split(',').filter(Boolean);
  if (!/^[a-z0-9]+(?:\([a-z0-9]+\))?$/.test(type) || name === '' || name.length > 512) return undefined;
  return { type: type.replace(/\(.*\)$/, ''), name, actions: [...new Set(actions)] };
}

/** Every scope in some `scope` parameters; each may hold several, separated by spaces (OAuth2 form). */
export function parseScopes(values: readonly string[]): Scope[] {
  return mergeScopes(values.flatMap((v) => v.split(' ')).filter(Boolean).map(parseScope).filter((s): s is Scope => s !== undefined));
}

export function formatScope(scope: Scope): string {
  return `${scope.type}:${scope.name}:${scope.actions.join(',')}`;
}

/** One entry per (type, name), actions united; scopes with no action are dropped. */
export function mergeScopes(scopes: readonly Scope[]): Scope[] {
  const byKey = new Map<string, Scope>();
  for (const scope of scopes) {
    const key = `${scope.type}\u0000${scope.name}`;
    const seen = byKey.get(key);
    if (seen) seen.actions = [...new Set([...seen.actions, ...scope.actions])];
    else byKey.set(key, { type: scope.type, name: scope.name, actions: [...scope.actions] });
  }
  return [...byKey.values()].filter((s) => s.actions.length > 0);
}

/** True when `access` lets its holder do `action` on (type, name); `*` stands for every action. */
export function allows(access: readonly Scope[], type: string, name: string, action: string): boolean {
  return access.some((s) => s.type === type && s.name === name && (s.actions.includes(action) || s.actions.includes('*')));
}

/** True when `access` covers every action of every scope in `needed`. */
export function covers(access: readonly Scope[], needed: readonly Scope[]): boolean {
  return needed.every((n) => n.actions.every((a) => allows(access, n.type, n.name, a)));
}
