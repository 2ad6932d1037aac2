// The README's quick start, as written: the sh blocks of its "Run it" section, parsed out of
// README.md (so the two cannot drift), on a fresh data directory. The first block starts the
// server (`npm ci && npm start`); every line of the others runs with bash in the same directory,
// a fresh copy of the project (a clone after `npm ci`), and must exit 0. Only the environment is
// the test's own: a private dockerd (DOCKER_HOST), HOME and docker's config dir, and no CIRRUS_*
// variables, as on a fresh machine. The commands are never edited.
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFile, mkdir, readdir, readFile, symlink } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireClients, run } from '../support/clients.ts';
import { type RunningDockerd, startDockerd } from '../support/dockerd.ts';
import { REPO_ROOT } from '../support/local-host.ts';
import { cleanUp, makeTempDir, removeTree } from '../support/tmp.ts';

const README = join(REPO_ROOT, 'README.md');
const SECTION = '## Run it';
const SERVER_BLOCK = 'npm ci && npm start';
// The address the README's commands name. The test does not rewrite it to a free port: it would
// then run commands the README does not show. So the server takes port 5000 as it would for a
// user; when something else holds it, the quick start cannot run as written here: a failure under
// CI (its machines are ours to keep free), a skip with the reason elsewhere.
const PORT = 5000;
const READY_TIMEOUT_MS = 60_000;

/** The sh blocks of the README's "Run it" section: the server's command, then the client commands, one per line. */
function quickStart(markdown: string): { server: string; commands: string[] } {
  const start = markdown.indexOf(`\n${SECTION}\n`);
  if (start < 0) throw new Error(`README.md has no "${SECTION}" section`);
  const rest = markdown.slice(start + SECTION.length + 2);
  const end = rest.search(/^## /m);
  const section = end < 0 ? rest : rest.slice(0, end);
  const blocks = [...section.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
  const [server, ...clients] = blocks;
  const commands = clients
    .flatMap((block) => block.replace(/\\\n/g, ' ').split('\n'))
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  if (server === undefined || commands.length === 0) throw new Error(`README.md "${SECTION}": expected a server block and client commands`);
  return { server: server.trim(), commands };
}

const portFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });

const clients = requireClients(['docker', 'docker.io'], ['dockerd', 'docker.io'], ['skopeo', 'skopeo'], ['npm', 'npm']);
const portAvailable = await portFree(PORT);
if (!portAvailable && process.env.CI) throw new Error(`port ${PORT} is in use: the README's quick start needs it (required under CI)`);
const skipReason = !clients.available ? clients.reason : portAvailable ? '' : ` (skipped: port ${PORT} is in use, and the README's quick start names it)`;

const { server: serverBlock, commands } = quickStart(await readFile(README, 'utf8'));

/** Without anything a fresh machine would not have: Cirrus' variables, and npm's from the `npm test` that runs us. */
function freshEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(CIRRUS_|npm_|HOST$|PORT$|REGISTRY_AUTH_FILE$)/.test(key)));
  return { ...env, ...extra };
}

describe.skipIf(skipReason !== '')(`the README's quick start, run as written${skipReason}`, () => {
  let work: string;
  let home: string;
  let dockerd: RunningDockerd | undefined;
  let server: ChildProcess | undefined;
  const stdout: string[] = [];
  const stderr: string[] = [];
  const output = () => `--- server stdout ---\n${stdout.join('\n')}\n--- server stderr ---\n${stderr.join('\n')}`;

  beforeAll(async () => {
    work = await makeTempDir('quickstart');
    home = await makeTempDir('quickstart-home');
    // A clone after `npm ci`: the project's files, README.md a real file (the quick start packs it).
    for (const entry of await readdir(REPO_ROOT)) {
      if (['.git', '.cirrus-data', 'README.md'].includes(entry)) continue;
      await symlink(join(REPO_ROOT, entry), join(work, entry));
    }
    await copyFile(README, join(work, 'README.md'));
    await mkdir(join(home, 'run'));
    dockerd = await startDockerd();
  }, 120_000);

  afterAll(async () => {
    await cleanUp(stopServer, dockerd?.stop);
    await cleanUp(work ? () => removeTree(work) : undefined, home ? () => removeTree(home) : undefined);
  }, 60_000);

  async function stopServer(): Promise<void> {
    if (!server || server.exitCode !== null || server.signalCode !== null) return;
    const exited = new Promise((resolve) => server!.once('close', resolve));
    // npm, its shell and the host: one process group, as Ctrl-C in the terminal would reach.
    process.kill(-server.pid!, 'SIGTERM');
    const timer = setTimeout(() => process.kill(-server!.pid!, 'SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }

  it('starts with `npm ci && npm start`', { timeout: READY_TIMEOUT_MS + 10_000 }, async () => {
    // `npm ci` needs the network and would replace the node_modules the tests run on; the copy
    // already has them, so only `npm start` runs.
    expect(serverBlock).toBe(SERVER_BLOCK);
    server = spawn('npm', ['start'], {
      cwd: work,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      // No update check: it is npm's, not ours, and there may be no network.
      env: freshEnv({ npm_config_update_notifier: 'false' }),
    });
    const child = server;
    process.once('exit', () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    });
    createInterface({ input: child.stderr! }).on('line', (line) => stderr.push(line));
    const listening = new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`npm start: not listening after ${READY_TIMEOUT_MS} ms\n${output()}`)), READY_TIMEOUT_MS);
      child.once('close', (code, signal) => reject(new Error(`npm start exited with ${code ?? signal}\n${output()}`)));
      createInterface({ input: child.stdout! }).on('line', (line) => {
        stdout.push(line);
        const event = line.startsWith('{') ? (JSON.parse(line) as Record<string, unknown>) : undefined;
        if (event?.event === 'listening') {
          clearTimeout(timer);
          resolve(event);
        }
      });
    });
    expect(await listening).toMatchObject({ url: `http://127.0.0.1:${PORT}`, dataDir: join(work, '.cirrus-data'), auth: true });
  });

  it('runs every client command of the README as written', { timeout: 300_000 }, async () => {
    expect(server?.exitCode, 'the server must be running').toBeNull();
    const env = freshEnv({ ...dockerd!.env, HOME: home, XDG_RUNTIME_DIR: join(home, 'run') });
    const results: string[] = [];
    for (const command of commands) {
      const res = await run('bash', ['-o', 'pipefail', '-c', command], { cwd: work, env, timeoutMs: 120_000, allowFailure: true });
      expect(res.code, `${command}\n--- stdout ---\n${res.stdout}\n--- stderr ---\n${res.stderr}\n${output()}`).toBe(0);
      results.push(res.stdout);
    }
    // What the commands showed agrees: the digest docker pushed is the one pulled back and the one skopeo sees.
    const text = results.join('\n');
    const pushed = /latest: digest: (sha256:[0-9a-f]{64})/.exec(text)?.[1];
    expect(pushed, text).toBeDefined();
    expect(text).toContain(`Digest: ${pushed}`);
    expect(text).toContain(`"Digest": "${pushed}"`);
  });

  it('printed the password once on stderr in a banner and nothing else; stdout is JSON lines (after npm\'s own header)', async () => {
    const password = (await readFile(join(work, '.cirrus-data', 'initial-admin-password'), 'utf8')).trim();
    const banner = stderr.join('\n');
    expect(banner).toContain(`    ${password}`);
    expect(banner.replace(/^\*{20,}$[\s\S]*^\*{20,}$/m, '').trim(), output()).toBe('');
    for (const line of stdout.filter((l) => l !== '' && !l.startsWith('> '))) expect(() => JSON.parse(line), line).not.toThrow();
    expect(stdout.join('\n')).not.toContain(password);
  });
});
