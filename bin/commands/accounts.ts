/** `cirrus user …`, `cirrus robot …` and `cirrus secret rotate`: the accounts tokens are issued to. */
import type { Command } from 'commander';
import { Identities, IdentityError, isRole, ProjectError, Projects, randomSecret, ROBOT_PREFIX, ROLES, SYSTEM_ADMIN } from '../../core/auth/index.ts';
import { CliUsageError, formatTable, iso, parseDuration, readSecretFromStdin } from '../cli-io.ts';
import { withStore, type Session } from '../cli/session.ts';

export function registerAccountCommands(program: Command): void {
  const user = program.command('user').description('users: people who log in with a password');

  user
    .command('create')
    .description('create a user; without --password-stdin a password is generated and shown once')
    .argument('<name>')
    .option('--password-stdin', 'read the password from stdin')
    .action(
      withStore(async (s, name: string, opts: { passwordStdin?: boolean }) => {
        const given = opts.passwordStdin ? await readSecretFromStdin() : undefined;
        const secret = given ?? randomSecret();
        await new Identities(s).create({ name, kind: 'user', secret, createdBy: s.actor });
        await s.audited('user.create', { account: name });
        s.print(given ? { name } : { name, password: secret }, given ? `created user ${name}` : `created user ${name}\npassword (shown only now): ${secret}`);
      }),
    );

  user
    .command('passwd')
    .description("change a user's password; without --password-stdin a password is generated and shown once")
    .argument('<name>')
    .option('--password-stdin', 'read the password from stdin')
    .action(
      withStore(async (s, name: string, opts: { passwordStdin?: boolean }) => {
        const given = opts.passwordStdin ? await readSecretFromStdin() : undefined;
        const secret = given ?? randomSecret();
        await new Identities(s).setSecret(name, secret);
        await s.audited('user.passwd', { account: name });
        s.print(given ? { name } : { name, password: secret }, given ? `changed the password of ${name}` : `new password of ${name} (shown only now): ${secret}`);
      }),
    );

  for (const disabled of [true, false]) {
    user
      .command(disabled ? 'disable' : 'enable')
      .description(disabled ? 'refuse logins and tokens of a user' : 'let a disabled user log in again')
      .argument('<name>')
      .action(
        withStore(async (s, name: string) => {
          await new Identities(s).setDisabled(name, disabled);
          await s.audited(disabled ? 'user.disable' : 'user.enable', { account: name });
          s.print({ name, disabled }, `${name} ${disabled ? 'disabled' : 'enabled'}`);
        }),
      );
  }

  user.command('list').description('list the users and their project roles').action(withStore((s) => listAccounts(s, 'user')));

  const robot = program.command('robot').description('robot accounts: expiring secrets for CI and machines');

  robot
    .command('create')
    .description('create a robot account; the secret is shown once')
    .argument('<name>', `its name (${ROBOT_PREFIX} is prefixed when missing)`)
    .option('--project <project>', 'make it a member of this project (with --role)')
    .option('--role <role>', `its role in --project: ${ROLES.join(', ')}`)
    .option('--expires-in <duration>', 'lifetime, e.g. 90d, 12h or 30m', '90d')
    .action(
      withStore(async (s, given: string, opts: { project?: string; role?: string; expiresIn: string }) => {
        const name = robotName(given);
        const expiresAt = Date.now() + parseDuration(opts.expiresIn);
        const { project, role } = opts;
        if ((project === undefined) !== (role === undefined)) throw new CliUsageError('robot create: --project and --role go together');
        if (role !== undefined && !isRole(role)) throw new CliUsageError(`unknown role ${role}: ${ROLES.join(', ')}`);
        const projects = new Projects(s);
        if (project !== undefined && !(await projects.get(project))) throw new ProjectError(`no project named ${project}`);
        const secret = randomSecret();
        await new Identities(s).create({ name, kind: 'robot', secret, expiresAt, createdBy: s.actor });
        await s.audited('robot.create', { account: name, expiresAt });
        if (project !== undefined && role !== undefined && isRole(role)) {
          await projects.addMember(project, name, role);
          await s.audited('member.add', { project, account: name, role });
        }
        s.print(
          { name, secret, expiresAt: iso(expiresAt) },
          `created robot ${name}, expires ${iso(expiresAt)}\nsecret (shown only now): ${secret}\nlog in with: docker login -u '${name}' --password-stdin <registry>`,
        );
      }),
    );

  robot.command('list').description('list the robot accounts, their project roles and expiry').action(withStore((s) => listAccounts(s, 'robot')));

  robot
    .command('delete')
    .description('delete a robot account and its memberships')
    .argument('<name>')
    .action(
      withStore(async (s, given: string) => {
        const name = robotName(given);
        const identities = new Identities(s);
        const found = await identities.get(name);
        if (!found || found.kind !== 'robot') throw new IdentityError(`no robot named ${name}`);
        await new Projects(s).removeAll(name);
        await identities.delete(name);
        await s.audited('robot.delete', { account: name });
        s.print({ name, deleted: true }, `deleted robot ${name}`);
      }),
    );

  program
    .command('secret')
    .description("accounts' secrets")
    .command('rotate')
    .description('a new generated secret, shown once; refresh tokens stop working')
    .argument('<account>')
    .action(
      withStore(async (s, name: string) => {
        const identities = new Identities(s);
        if (!(await identities.get(name))) throw new IdentityError(`no account named ${name}`);
        const secret = randomSecret();
        await identities.setSecret(name, secret);
        await s.audited('secret.rotate', { account: name });
        s.print({ name, secret }, `new secret of ${name} (shown only now): ${secret}\nrefresh tokens issued before this no longer work`);
      }),
    );
}

async function listAccounts(s: Session, kind: 'user' | 'robot'): Promise<void> {
  const identities = new Identities(s);
  const projects = new Projects(s);
  const list = [];
  let after: string | undefined;
  do {
    const page = await identities.list(1000, after);
    list.push(...page.entries.filter((i) => i.kind === kind));
    after = page.next;
  } while (after !== undefined);
  const withRoles = await Promise.all(list.map(async (i) => ({ ...i, memberships: await projects.memberships(i.name) })));
  s.print(withRoles, () => {
    const rows = withRoles.map((i) => [
      i.name,
      i.disabled ? 'disabled' : i.expiresAt !== undefined && i.expiresAt <= Date.now() ? 'expired' : 'active',
      i.name === SYSTEM_ADMIN ? '(system administrator)' : i.memberships.map((m) => `${m.project}:${m.role}`).join(' ') || '-',
      iso(i.createdAt),
      ...(kind === 'robot' ? [i.expiresAt === undefined ? '-' : iso(i.expiresAt)] : []),
    ]);
    return formatTable([kind.toUpperCase(), 'STATE', 'PROJECTS', 'CREATED', ...(kind === 'robot' ? ['EXPIRES'] : [])], rows);
  });
}

function robotName(name: string): string {
  return name.startsWith(ROBOT_PREFIX) ? name : `${ROBOT_PREFIX}${name}`;
}
