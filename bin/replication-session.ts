/**
 * Until the commander CLI (bin/cli/) lands here: the slice of its `withStore` session the
 * replication commands use, with the same shape, so the command group moves over unchanged.
 */
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { Audit } from '../core/auth/index.ts';
import type { ObjectStore, Table } from '../core/ports/index.ts';
import { openBackend } from './backend.ts';
import { readConfig, type LocalConfig } from './config.ts';

export interface Session {
  config: LocalConfig;
  table: Table;
  objects: ObjectStore;
  now: () => number;
  actor: string;
  audit: Audit;
  audited(action: string, detail: Record<string, string | number | boolean>, repository?: string): Promise<void>;
  json: boolean;
  print(value: unknown, text: string | (() => string)): void;
  out(text: string): void;
}

export function withStore<Args extends unknown[]>(body: (session: Session, ...args: Args) => Promise<void>): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const command = args.at(-1) as Command;
    const json = command.optsWithGlobals<{ json?: boolean }>().json === true;
    const config = readConfig();
    const backend = await openBackend(config);
    try {
      const { table, objects } = backend;
      const now = Date.now;
      let login = 'unknown';
      try {
        login = userInfo().username;
      } catch {
        // no login name
      }
      const actor = `cli:${login}`;
      const audit = new Audit({ table, now, log: (event) => process.stderr.write(`${JSON.stringify({ time: new Date(event.at).toISOString(), level: 'info', event: 'audit', ...event })}\n`) });
      const out = (text: string) => void process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
      await body(
        {
          config,
          table,
          objects,
          now,
          actor,
          audit,
          audited: (action, detail, repository) => audit.record({ who: actor, action, result: 'ok', source: 'cli', detail, ...(repository ? { repository } : {}) }),
          json,
          print: (value, text) => out(json ? JSON.stringify(value) : typeof text === 'function' ? text() : text),
          out,
        },
        ...(args.slice(0, -1) as Args),
      );
    } finally {
      await backend.table.close?.();
      await backend.close();
    }
  };
}
