/**
 * Projects: the first path segment of a repository name (a one-segment name belongs to
 * `library`, as on Docker Hub and Harbor). A project lists members with roles and may let anyone
 * pull. A membership is written twice, under the project (read per token request) and under the
 * account (read to filter the catalog); both writes are idempotent and the project side is
 * written first and removed last, so the project side is the truth when a crash splits them.
 */
import type { Item, Table } from '../ports/table.ts';
import { allItems } from '../registry/paging.ts';
import { keys } from '../registry/keys.ts';

export type Role = 'reader' | 'writer' | 'admin';
export const ROLES: readonly Role[] = ['reader', 'writer', 'admin'];
export const DEFAULT_PROJECT = 'library';

export interface Project {
  name: string;
  anonymousPull: boolean;
  createdAt: number;
}

export interface Member {
  name: string;
  role: Role;
}

const PROJECT_NAME = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;

export function isProjectName(name: string): boolean {
  return name.length <= 255 && PROJECT_NAME.test(name);
}

export function projectOf(repository: string): string {
  const slash = repository.indexOf('/');
  return slash < 0 ? DEFAULT_PROJECT : repository.slice(0, slash);
}

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

export class ProjectError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProjectError';
  }
}

export class Projects {
  constructor(private readonly deps: { table: Table; now: () => number }) {}

  async get(name: string): Promise<Project | undefined> {
    const { pk, sk } = keys.project(name);
    const item = await this.deps.table.get(pk, sk);
    return item && toProject(item);
  }

  async list(): Promise<Project[]> {
    const out: Project[] = [];
    for await (const item of allItems(this.deps.table, keys.projectPartition)) out.push(toProject(item));
    return out;
  }

  /** Creates a project; true when it was created, false when it existed (left as it was). */
  async create(name: string, options: { anonymousPull?: boolean } = {}): Promise<boolean> {
    if (!isProjectName(name)) throw new ProjectError(`invalid project name ${JSON.stringify(name)}: a repository name's first component`);
    const { pk, sk } = keys.project(name);
    if (await this.deps.table.get(pk, sk)) return false;
    await this.deps.table.put({ pk, sk, attrs: { anonymousPull: options.anonymousPull === true, createdAt: this.deps.now() } });
    return true;
  }

  async setAnonymousPull(name: string, anonymousPull: boolean): Promise<Project> {
    await this.required(name);
    const { pk, sk } = keys.project(name);
    return toProject(await this.deps.table.update(pk, sk, { anonymousPull }, { kind: 'exists' }));
  }

  async role(project: string, member: string): Promise<Role | undefined> {
    const { pk, sk } = keys.member(project, member);
    const role = (await this.deps.table.get(pk, sk))?.attrs.role;
    return typeof role === 'string' && isRole(role) ? role : undefined;
  }

  async members(project: string): Promise<Member[]> {
    await this.required(project);
    const out: Member[] = [];
    for await (const item of allItems(this.deps.table, keys.memberPartition(project), { prefix: keys.memberPrefix })) {
      const role = item.attrs.role;
      if (typeof role === 'string' && isRole(role)) out.push({ name: item.sk.slice(keys.memberPrefix.length), role });
    }
    return out;
  }

  /** The projects an account is a member of, with its role in each. */
  async memberships(name: string): Promise<Array<{ project: string; role: Role }>> {
    const out: Array<{ project: string; role: Role }> = [];
    for await (const item of allItems(this.deps.table, keys.membershipPartition(name), { prefix: keys.membershipPrefix })) {
      const role = item.attrs.role;
      if (typeof role === 'string' && isRole(role)) out.push({ project: item.sk.slice(keys.membershipPrefix.length), role });
    }
    return out;
  }

  /** Adds a member or changes its role. */
  async addMember(project: string, name: string, role: Role): Promise<void> {
    await this.required(project);
    const member = keys.member(project, name);
    const membership = keys.membership(name, project);
    const addedAt = this.deps.now();
    await this.deps.table.put({ ...member, attrs: { role, addedAt } });
    await this.deps.table.put({ ...membership, attrs: { role, addedAt } });
  }

  /** True when the account was a member. */
  async removeMember(project: string, name: string): Promise<boolean> {
    const member = keys.member(project, name);
    const existed = (await this.deps.table.get(member.pk, member.sk)) !== undefined;
    const membership = keys.membership(name, project);
    await this.deps.table.delete(membership.pk, membership.sk);
    await this.deps.table.delete(member.pk, member.sk);
    return existed;
  }

  /** Removes every membership of an account (before the account itself goes). */
  async removeAll(name: string): Promise<void> {
    for (const { project } of await this.memberships(name)) await this.removeMember(project, name);
  }

  private async required(name: string): Promise<Project> {
    const project = await this.get(name);
    if (!project) throw new ProjectError(`no project named ${name} (create it first: cirrus project create ${name})`);
    return project;
  }
}

function toProject(item: Item): Project {
  return { name: item.sk, anonymousPull: item.attrs.anonymousPull === true, createdAt: Number(item.attrs.createdAt ?? 0) };
}
