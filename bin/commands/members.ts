/** `cirrus member add|remove|list`: who holds which role in a project. */
import type { Command } from 'commander';
import { Identities, IdentityError, isRole, ProjectError, Projects, ROLES } from '../../core/auth/index.ts';
import { CliUsageError, formatTable } from '../cli-io.ts';
import { withStore } from '../cli/session.ts';

export function registerMemberCommands(program: Command): void {
  const member = program.command('member').description("a project's members and their roles");

  member
    .command('add')
    .description('give an account a role in a project (replacing its previous one)')
    .argument('<project>')
    .argument('<account>')
    .argument('<role>', ROLES.join(', '))
    .action(
      withStore(async (s, project: string, account: string, role: string) => {
        if (!isRole(role)) throw new CliUsageError(`unknown role ${role}: ${ROLES.join(', ')}`);
        if (!(await new Identities(s).get(account))) throw new IdentityError(`no account named ${account}`);
        await new Projects(s).addMember(project, account, role);
        await s.audited('member.add', { project, account, role });
        s.print({ project, account, role }, `${account} is ${role} of ${project}`);
      }),
    );

  member
    .command('remove')
    .description('take an account out of a project')
    .argument('<project>')
    .argument('<account>')
    .action(
      withStore(async (s, project: string, account: string) => {
        const was = await new Projects(s).removeMember(project, account);
        if (!was) throw new ProjectError(`${account} is not a member of ${project}`);
        await s.audited('member.remove', { project, account });
        s.print({ project, account, removed: true }, `${account} is no longer a member of ${project}`);
      }),
    );

  member
    .command('list')
    .description("list a project's members")
    .argument('<project>')
    .action(
      withStore(async (s, project: string) => {
        const members = await new Projects(s).members(project);
        s.print(members, () => formatTable(['ACCOUNT', 'ROLE'], members.map((m) => [m.name, m.role])));
      }),
    );
}
