/**
 * `npx cirrus`: administers access control over the store the environment configures (the same
 * variables as `npm start`: CIRRUS_DATA_DIR for the embedded store, CIRRUS_BACKEND=aws with
 * CIRRUS_TABLE for DynamoDB). Safe while the server runs: SQLite is in WAL mode, and every change
 * is a single-item write. (aws-local is the exception: its dynalite holds a lock on its files, so
 * stop the server first.) Human-readable output by default, `--json` for scripts. Every change is
 * audited.
 */
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import {
  Audit,
  type AuditEvent,
  Identities,
  IdentityError,
  isRole,
  ProjectError,
  Projects,
  randomSecret,
  ROBOT_PREFIX,
  ROLES,
  SYSTEM_ADMIN,
} from '../core/auth/index.ts';
import type { Table } from '../core/ports/index.ts';
import { readConfig } from './config.ts';
import { openBackend } from './backend.ts';
import { forgetChangedInitialAdminPassword, initialAdminPasswordPath } from './initial-admin-password.ts';
import { isMaintenanceCommand, MAINTENANCE_USAGE, runMaintenanceCommand } from './maintenance-commands.ts';
import { CliUsageError as UsageError, formatTable, iso, parseDuration, readSecretFromStdin, shortDigest } from './cli-io.ts';

const USAGE = `usage: cirrus <command> [options]   (--json for machine-readable output)

  project create <name> [--anonymous-pull]     a project: the first path segment of repository names
  project set <name> --[no-]anonymous-pull     let anyone (even anonymous) pull from it, or not
  project list
  user create <name> [--password-stdin]        without --password-stdin a password is generated and shown once
  user passwd <name> [--password-stdin]
  user disable|enable <name>
  user list
  robot create <name> [--project <p> --role <r>] [--expires-in 90d]   the secret is shown once
  robot list
  robot delete <name>
  member add <project> <account> <role>        roles: ${ROLES.join(', ')}
  member remove <project> <account>
  member list <project>
  secret rotate <account>                      a new generated secret, shown once; refresh tokens stop working
  audit [--limit N] [--after <cursor>]         newest first
${MAINTENANCE_USAGE}

The store is the one npm start would use: CIRRUS_DATA_DIR (default ./.cirrus-data), or CIRRUS_BACKEND=aws with CIRRUS_TABLE.`;

interface Context {
  identities: Identities;
  projects: Projects;
  audit: Audit;
  json: boolean;
  actor: string;
  out: (text: string) => void;
}

async function main(argv: string[]): Promise<number> {
  // gc, retention and immutability parse their own options.
  if (isMaintenanceCommand(argv)) return runMaintenanceCommand(argv);
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    allowNegative: true,
    strict: true,
    options: {
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
      'anonymous-pull': { type: 'boolean' },
      'password-stdin': { type: 'boolean', default: false },
      project: { type: 'string' },
      role: { type: 'string' },
      'expires-in': { type: 'string', default: '90d' },
      limit: { type: 'string', default: '50' },
      after: { type: 'string' },
    },
  });
  if (values.help || positionals.length === 0) {
    process.stdout.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const config = readConfig();
  const store = await openBackend(config);
  try {
    const table: Table = store.table;
    const now = Date.now;
    const actor = `cli:${safeUser()}`;
    const ctx: Context = {
      identities: new Identities({ table, now }),
      projects: new Projects({ table, now }),
      // The same JSON line the server writes, on stderr so stdout stays the command's output.
      audit: new Audit({ table, now, log: (event) => process.stderr.write(`${JSON.stringify({ time: new Date(event.at).toISOString(), level: 'info', event: 'audit', ...event })}\n`) }),
      json: values.json ?? false,
      actor,
      out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    };
    const [group, command, ...args] = positionals;
    await run(ctx, `${group} ${command ?? ''}`.trim(), args, values);
    // After `user passwd admin` or `secret rotate admin` the password a first start generated is no longer true.
    if ((await forgetChangedInitialAdminPassword(config.dataDir, ctx.identities)) === 'removed') {
      process.stderr.write(`removed ${initialAdminPasswordPath(config.dataDir)}: it no longer holds admin's password\n`);
    }
    return 0;
  } finally {
    await store.table.close?.();
    await store.close();
  }
}

type Values = {
  'anonymous-pull'?: boolean;
  'password-stdin'?: boolean;
  project?: string;
  role?: string;
  'expires-in'?: string;
  limit?: string;
  after?: string;
};

async function run(ctx: Context, command: string, args: string[], values: Values): Promise<void> {
  const { identities, projects, out, json } = ctx;
  const arg = (i: number, what: string) => {
    const value = args[i];
    if (value === undefined) throw new UsageError(`${command}: missing <${what}>`);
    return value;
  };
  const audited = (action: string, detail: Record<string, string | number | boolean>, repository?: string) =>
    ctx.audit.record({ who: ctx.actor, action, result: 'ok', source: 'cli', detail, ...(repository ? { repository } : {}) });

  switch (command) {
    case 'project create': {
      const name = arg(0, 'name');
      const anonymousPull = values['anonymous-pull'] ?? false;
      const created = await projects.create(name, { anonymousPull });
      if (!created) throw new ProjectError(`project ${name} already exists`);
      await audited('project.create', { project: name, anonymousPull });
      return void out(json ? JSON.stringify({ name, anonymousPull }) : `created project ${name}${anonymousPull ? ' (anonymous pull allowed)' : ''}`);
    }
    case 'project set': {
      const name = arg(0, 'name');
      if (values['anonymous-pull'] === undefined) throw new UsageError('project set: --anonymous-pull or --no-anonymous-pull');
      const project = await projects.setAnonymousPull(name, values['anonymous-pull']);
      await audited('project.update', { project: name, anonymousPull: project.anonymousPull });
      return void out(json ? JSON.stringify(project) : `project ${name}: anonymous pull ${project.anonymousPull ? 'allowed' : 'refused'}`);
    }
    case 'project list': {
      const list = await projects.list();
      if (json) return void out(JSON.stringify(list));
      return void out(formatTable(['PROJECT', 'ANONYMOUS PULL', 'CREATED'], list.map((p) => [p.name, p.anonymousPull ? 'yes' : 'no', iso(p.createdAt)])));
    }
    case 'user create': {
      const name = arg(0, 'name');
      const given = values['password-stdin'] ? await readSecretFromStdin() : undefined;
      const secret = given ?? randomSecret();
      await identities.create({ name, kind: 'user', secret, createdBy: ctx.actor });
      await audited('user.create', { account: name });
      if (json) return void out(JSON.stringify(given ? { name } : { name, password: secret }));
      return void out(given ? `created user ${name}` : `created user ${name}\npassword (shown only now): ${secret}`);
    }
    case 'user passwd': {
      const name = arg(0, 'name');
      const given = values['password-stdin'] ? await readSecretFromStdin() : undefined;
      const secret = given ?? randomSecret();
      await identities.setSecret(name, secret);
      await audited('user.passwd', { account: name });
      if (json) return void out(JSON.stringify(given ? { name } : { name, password: secret }));
      return void out(given ? `changed the password of ${name}` : `new password of ${name} (shown only now): ${secret}`);
    }
    case 'user disable':
    case 'user enable': {
      const name = arg(0, 'name');
      const disabled = command === 'user disable';
      await identities.setDisabled(name, disabled);
      await audited(disabled ? 'user.disable' : 'user.enable', { account: name });
      return void out(json ? JSON.stringify({ name, disabled }) : `${name} ${disabled ? 'disabled' : 'enabled'}`);
    }
    case 'user list':
    case 'robot list': {
      const kind = command === 'user list' ? 'user' : 'robot';
      const list = (await allIdentities(identities)).filter((i) => i.kind === kind);
      const withRoles = await Promise.all(list.map(async (i) => ({ ...i, memberships: await projects.memberships(i.name) })));
      if (json) return void out(JSON.stringify(withRoles));
      const rows = withRoles.map((i) => [
        i.name,
        i.disabled ? 'disabled' : i.expiresAt !== undefined && i.expiresAt <= Date.now() ? 'expired' : 'active',
        i.name === SYSTEM_ADMIN ? '(system administrator)' : i.memberships.map((m) => `${m.project}:${m.role}`).join(' ') || '-',
        iso(i.createdAt),
        ...(kind === 'robot' ? [i.expiresAt === undefined ? '-' : iso(i.expiresAt)] : []),
      ]);
      return void out(formatTable([kind.toUpperCase(), 'STATE', 'PROJECTS', 'CREATED', ...(kind === 'robot' ? ['EXPIRES'] : [])], rows));
    }
    case 'robot create': {
      const name = robotName(arg(0, 'name'));
      const expiresAt = Date.now() + parseDuration(values['expires-in'] ?? '90d');
      const { project, role } = values;
      if ((project === undefined) !== (role === undefined)) throw new UsageError('robot create: --project and --role go together');
      if (role !== undefined && !isRole(role)) throw new UsageError(`unknown role ${role}: ${ROLES.join(', ')}`);
      if (project !== undefined && !(await projects.get(project))) throw new ProjectError(`no project named ${project}`);
      const secret = randomSecret();
      await identities.create({ name, kind: 'robot', secret, expiresAt, createdBy: ctx.actor });
      await audited('robot.create', { account: name, expiresAt });
      if (project !== undefined && role !== undefined && isRole(role)) {
        await projects.addMember(project, name, role);
        await audited('member.add', { project, account: name, role });
      }
      if (json) return void out(JSON.stringify({ name, secret, expiresAt: iso(expiresAt) }));
      return void out(`created robot ${name}, expires ${iso(expiresAt)}\nsecret (shown only now): ${secret}\nlog in with: docker login -u '${name}' --password-stdin <registry>`);
    }
    case 'robot delete': {
      const name = robotName(arg(0, 'name'));
      const robot = await identities.get(name);
      if (!robot || robot.kind !== 'robot') throw new IdentityError(`no robot named ${name}`);
      await projects.removeAll(name);
      await identities.delete(name);
      await audited('robot.delete', { account: name });
      return void out(json ? JSON.stringify({ name, deleted: true }) : `deleted robot ${name}`);
    }
    case 'member add': {
      const project = arg(0, 'project');
      const account = arg(1, 'account');
      const role = arg(2, 'role');
      if (!isRole(role)) throw new UsageError(`unknown role ${role}: ${ROLES.join(', ')}`);
      if (!(await identities.get(account))) throw new IdentityError(`no account named ${account}`);
      await projects.addMember(project, account, role);
      await audited('member.add', { project, account, role });
      return void out(json ? JSON.stringify({ project, account, role }) : `${account} is ${role} of ${project}`);
    }
    case 'member remove': {
      const project = arg(0, 'project');
      const account = arg(1, 'account');
      const was = await projects.removeMember(project, account);
      if (!was) throw new ProjectError(`${account} is not a member of ${project}`);
      await audited('member.remove', { project, account });
      return void out(json ? JSON.stringify({ project, account, removed: true }) : `${account} is no longer a member of ${project}`);
    }
    case 'member list': {
      const project = arg(0, 'project');
      const members = await projects.members(project);
      if (json) return void out(JSON.stringify(members));
      return void out(formatTable(['ACCOUNT', 'ROLE'], members.map((m) => [m.name, m.role])));
    }
    case 'secret rotate': {
      const name = arg(0, 'account');
      const identity = await identities.get(name);
      if (!identity) throw new IdentityError(`no account named ${name}`);
      const secret = randomSecret();
      await identities.setSecret(name, secret);
      await audited('secret.rotate', { account: name });
      if (json) return void out(JSON.stringify({ name, secret }));
      return void out(`new secret of ${name} (shown only now): ${secret}\nrefresh tokens issued before this no longer work`);
    }
    case 'audit': {
      const limit = Number(values.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new UsageError('--limit must be 1..1000');
      let page: { events: AuditEvent[]; next?: string };
      try {
        page = await ctx.audit.list({ limit, after: values.after });
      } catch (error) {
        if (error instanceof RangeError) throw new UsageError(error.message);
        throw error;
      }
      if (json) return void out(JSON.stringify(page));
      const rows = page.events.map((e) => [
        iso(e.at),
        e.result,
        e.who,
        e.action,
        e.repository ?? '-',
        e.digest ? shortDigest(e.digest) : '-',
        e.source ?? '-',
        [e.status === undefined ? '' : String(e.status), e.reason ?? '', e.detail ? Object.entries(e.detail).map(([k, v]) => `${k}=${v}`).join(' ') : '']
          .filter(Boolean)
          .join(' '),
      ]);
      out(formatTable(['TIME', 'RESULT', 'WHO', 'ACTION', 'REPOSITORY', 'DIGEST', 'SOURCE', 'DETAIL'], rows));
      if (page.next) out(`more: cirrus audit --limit ${limit} --after '${page.next}'`);
      return;
    }
    default:
      throw new UsageError(`unknown command: ${command}\n\n${USAGE}`);
  }
}

async function allIdentities(identities: Identities) {
  const out = [];
  let after: string | undefined;
  do {
    const page = await identities.list(1000, after);
    out.push(...page.entries);
    after = page.next;
  } while (after !== undefined);
  return out;
}

function robotName(name: string): string {
  return name.startsWith(ROBOT_PREFIX) ? name : `${ROBOT_PREFIX}${name}`;
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`cirrus: ${message}\n`);
    // 2: the command line was wrong; 1: the command failed.
    const usage = error instanceof UsageError || String((error as { code?: unknown }).code ?? '').startsWith('ERR_PARSE_ARGS');
    process.exit(usage ? 2 : 1);
  },
);
