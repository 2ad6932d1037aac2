/**
 * node:sqlite, loaded on first use rather than imported. On Node 22 loading it emits
 * "ExperimentalWarning: SQLite is an experimental feature", which every start of the local host
 * (and every `cirrus` command) would print to stderr. An `import` runs before any code of the
 * importing program (in a bundle too: esbuild hoists external imports above all code), so the
 * warning can only be held back here, around the load. Only that one warning is dropped; the
 * override lasts for the synchronous load alone.
 */
type Sqlite = typeof import('node:sqlite');

let sqlite: Sqlite | undefined;

export function loadSqlite(): Sqlite {
  if (sqlite) return sqlite;
  const emitWarning = process.emitWarning;
  process.emitWarning = function (this: NodeJS.Process, warning: string | Error, ...rest: unknown[]) {
    const type = typeof rest[0] === 'string' ? rest[0] : (rest[0] as { type?: string } | undefined)?.type;
    const message = typeof warning === 'string' ? warning : warning.message;
    const name = typeof warning === 'string' ? type : warning.name;
    if (name === 'ExperimentalWarning' && message.startsWith('SQLite ')) return;
    return (emitWarning as (...args: unknown[]) => void).call(this, warning, ...rest);
  } as typeof process.emitWarning;
  try {
    sqlite = process.getBuiltinModule('node:sqlite');
  } finally {
    process.emitWarning = emitWarning;
  }
  return sqlite;
}
