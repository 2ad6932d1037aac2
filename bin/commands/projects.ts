/** `cirrus project create|set|list`: projects, the first path segment of repository names. */
import type { Command } from 'commander';
import { ProjectError, Projects } from '../../core/auth/index.ts';
import { CliUsageError, formatTable, iso } from '../cli-io.ts';
import { withStore } from '../cli/session.ts';

export function registerProjectCommands(program: Command): void {
  const project = program.command('project').description('projects: the first path segment of repository names');

  project
    .command('create')
    .description('create a project')
    .argument('<name>')
    .option('--anonymous-pull', 'let anyone (even anonymous) pull from it')
    .action(
      withStore(async (s, name: string, opts: { anonymousPull?: boolean }) => {
        const anonymousPull = opts.anonymousPull ?? false;
        const created = await new Projects(s).create(name, { anonymousPull });
        if (!created) throw new ProjectError(`project ${name} already exists`);
        await s.audited('project.create', { project: name, anonymousPull });
        s.print({ name, anonymousPull }, `created project ${name}${anonymousPull ? ' (anonymous pull allowed)' : ''}`);
      }),
    );

  project
    .command('set')
    .description('let anyone (even anonymous) pull from a project, or not')
    .argument('<name>')
    .option('--anonymous-pull', 'allow anonymous pulls')
    .option('--no-anonymous-pull', 'refuse anonymous pulls')
    .action(
      withStore(async (s, name: string, opts: { anonymousPull?: boolean }) => {
        if (opts.anonymousPull === undefined) throw new CliUsageError('project set: --anonymous-pull or --no-anonymous-pull');
        const updated = await new Projects(s).setAnonymousPull(name, opts.anonymousPull);
        await s.audited('project.update', { project: name, anonymousPull: updated.anonymousPull });
        s.print(updated, `project ${name}: anonymous pull ${updated.anonymousPull ? 'allowed' : 'refused'}`);
      }),
    );

  project
    .command('list')
    .description('list the projects')
    .action(
      withStore(async (s) => {
        const list = await new Projects(s).list();
        s.print(list, () => formatTable(['PROJECT', 'ANONYMOUS PULL', 'CREATED'], list.map((p) => [p.name, p.anonymousPull ? 'yes' : 'no', iso(p.createdAt)])));
      }),
    );
}
