// The `cirrus` command line itself, in process (no store is opened before a command runs):
// generated help at every level, options refused by commands that do not declare them, and
// the exit codes of the one exit path.
import { describe, expect, it } from 'vitest';
import { createProgram, runCli } from '../../bin/cli/program.ts';

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) });
  return { code, stdout, stderr };
}

/** Every command path: `['project', 'create']`, `['gc']`… */
function leaves(): string[][] {
  const out: string[][] = [];
  const walk = (command: ReturnType<typeof createProgram>, path: string[]) => {
    const subs = command.commands.filter((c) => c.name() !== 'help');
    if (subs.length === 0) out.push(path);
    for (const sub of subs) walk(sub, [...path, sub.name()]);
  };
  walk(createProgram(), []);
  return out;
}

describe('cirrus --help', () => {
  it('the root lists every command group and the global --json switch, exit 0', async () => {
    const { code, stdout } = await cli('--help');
    expect(code).toBe(0);
    for (const group of ['project', 'user', 'robot', 'member', 'secret', 'audit', 'gc', 'retention', 'immutability']) expect(stdout).toMatch(new RegExp(`^  ${group}\\b`, 'm'));
    expect(stdout).toMatch(/--json/);
  });

  it('a group lists its commands, exit 0', async () => {
    const { code, stdout } = await cli('user', '--help');
    expect(code).toBe(0);
    for (const command of ['create', 'passwd', 'disable', 'enable', 'list']) expect(stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
  });

  it('a leaf lists its options and the global ones, exit 0', async () => {
    const gc = await cli('gc', '--help');
    expect(gc.code, gc.stderr).toBe(0);
    expect(gc.stdout).toMatch(/--dry-run/);
    expect(gc.stdout).toMatch(/--grace-period <duration>/);
    expect(gc.stdout).toMatch(/Global Options:[\s\S]*--json/);
    const robot = await cli('robot', 'create', '--help');
    expect(robot.code).toBe(0);
    for (const option of ['--project <project>', '--role <role>', '--expires-in <duration>']) expect(robot.stdout).toContain(option);
    expect((await cli('retention', 'set', '--help')).stdout).toMatch(/--keep-last <n>/);
    const viaHelp = await cli('help', 'gc');
    expect(viaHelp.code).toBe(0);
    expect(viaHelp.stdout).toMatch(/--grace-period/);
  });

  it('every command has help', async () => {
    for (const path of leaves()) {
      const { code, stdout } = await cli(...path, '--help');
      expect(code, path.join(' ')).toBe(0);
      expect(stdout, path.join(' ')).toContain(`Usage: cirrus ${path.join(' ')}`);
    }
  });
});

describe('cirrus refuses a wrong command line with exit code 2', () => {
  it('a flag of another command', async () => {
    const { code, stderr } = await cli('user', 'list', '--role', 'admin', '--expires-in', '3d');
    expect(code).toBe(2);
    expect(stderr).toMatch(/^cirrus: unknown option '--role'/);
  });

  it('an unknown flag, an unknown command, a missing or extra argument', async () => {
    expect((await cli('gc', '--frobnicate')).stderr).toMatch(/unknown option '--frobnicate'/);
    expect((await cli('frobnicate')).code).toBe(2);
    expect((await cli('--bogus')).code).toBe(2);
    const missing = await cli('member', 'add', 'team', 'will');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/missing required argument 'role'/);
    expect((await cli('project', 'list', 'extra')).code).toBe(2);
    expect((await cli('retention', 'get', '--project', 'p', '--repository', 'p/r')).stderr).toMatch(/cannot be used with/);
  });

  it('a group without its command shows the group help on stderr', async () => {
    const { code, stdout, stderr } = await cli('robot');
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/Usage: cirrus robot/);
  });
});
