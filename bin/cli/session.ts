/**
 * What a `cirrus` command runs against: the store `npm start` would use (CIRRUS_DATA_DIR, or
 * CIRRUS_BACKEND=aws with CIRRUS_TABLE), opened for the one command and closed after it, with
 * the audit trail, the acting user and the one output switch (`--json`).
 */
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { Audit, Identities } from '../../core/auth/index.ts';
import { jsonLogger } from '../../core/http/logger.ts';
import type { ObjectStore, Table } from '../../core/ports/index.ts';
import { openBackend } from '../backend.ts';
import type { Regions } from '../../core/replication/region.ts';
import { readConfig, type LocalConfig } from '../config.ts';
import { forgetChangedInitialAdminPassword, initialAdminPasswordPath } from '../initial-admin-password.ts';

export interface Session {
  config: LocalConfig;
  table: Table;
  objects: ObjectStore;
  /** Other Cirrus regions (the AWS backend): `cirrus replication run` of a `cirrus-region://` rule. */
  regions?: Regions;
  now: () => number;
  /** `cli:<login name>`: who the audit trail names. */
  actor: string;
  audit: Audit;
  /** Records a change made from the CLI (one table item, and the same JSON log line the server writes, on stderr). */
  audited(action: string, detail: Record<string, string | number | boolean>, repository?: string): Promise<void>;
  /** True under the global `--json` switch. */
  json: boolean;
  /** Prints `value` as one JSON document under `--json`, else the human-readable text. */
  print(value: unknown, text: string | (() => string)): void;
  /** A line of text on stdout, whatever the switch. */
  out(text: string): void;
}

/** The action of a command that needs the store: commander passes positionals, then options, then the command. */
export function withStore<Args extends unknown[]>(body: (session: Session, ...args: Args) => Promise<void>): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const command = args.at(-1) as Command;
    const json = command.optsWithGlobals<{ json?: boolean }>().json === true;
    const config = readConfig();
    const backend = await openBackend(config);
    try {
      const { table, objects } = backend;
      const now = Date.now;
      const actor = `cli:${loginName()}`;
      // stderr, so stdout stays the command's output.
      const log = jsonLogger((line) => process.stderr.write(line));
      const audit = new Audit({ table, now, log: (event) => log.info('audit', { ...event }) });
      const out = (text: string) => void process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
      const session: Session = {
        config,
        table,
        objects,
        ...(backend.regions ? { regions: backend.regions } : {}),
        now,
        actor,
        audit,
        audited: (action, detail, repository) =>
          audit.record({ who: actor, action, result: 'ok', source: 'cli', detail, ...(repository ? { repository } : {}) }),
        json,
        print: (value, text) => out(json ? JSON.stringify(value) : typeof text === 'function' ? text() : text),
        out,
      };
      await body(session, ...(args.slice(0, -1) as Args));
      // After `user passwd admin` or `secret rotate admin` the password a first start generated is no longer true.
      if ((await forgetChangedInitialAdminPassword(config.dataDir, new Identities({ table, now }))) === 'removed') {
        process.stderr.write(`removed ${initialAdminPasswordPath(config.dataDir)}: it no longer holds admin's password\n`);
      }
    } finally {
      await backend.table.close?.();
      await backend.close();
    }
  };
}

function loginName(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}
