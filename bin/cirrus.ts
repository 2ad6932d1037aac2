/**
 * `npx cirrus`: administers the store the environment configures (the same variables as
 * `npm start`). Safe while the server runs: SQLite is in WAL mode, and every change is a
 * single-item write. (aws-local is the exception: its dynalite holds a lock on its files, so stop
 * the server first.) Human-readable output by default, `--json` for scripts. The commands live
 * in bin/commands/, the program in bin/cli/program.ts.
 */
import { runCli } from './cli/program.ts';

// The one exit: a store's handles (SQLite, SDK sockets) must not keep the process alive.
process.exit(await runCli(process.argv.slice(2)));
