import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, postgresIds } from './replica.js';

/**
 * A real PgBouncer (the Debian package) in transaction pooling in front of the
 * test server: its own ini in a temp folder, a free loopback port. Every
 * transaction may land on a different server connection, so anything that
 * leans on session state (SET without LOCAL, session advisory locks, LISTEN,
 * named prepared statements, temp tables) breaks behind it.
 * PgBouncer refuses to run as root: as root it runs as `postgres`.
 */

export interface Bouncer {
  port: number;
  /** `database` through PgBouncer, as the primary URL's user */
  url(database: string): string;
  stop(): Promise<void>;
}

const BIN = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer'].find((p) => existsSync(p)) ?? 'pgbouncer';

export async function startPgbouncer(primaryUrl: string): Promise<Bouncer> {
  const primary = new URL(primaryUrl);
  const user = decodeURIComponent(primary.username) || 'postgres';
  const password = decodeURIComponent(primary.password);
  const dir = await mkdtemp(join(tmpdir(), 'agentbase-pgbouncer-'));
  const port = await freePort();
  const ini = join(dir, 'pgbouncer.ini');
  // The auth file names who may connect (trust: no password asked of clients)
  // and holds the password PgBouncer logs in to the server with, if any.
  await writeFile(join(dir, 'userlist.txt'), `"${user}" "${password.replace(/"/g, '""')}"\n`, { mode: 0o600 });
  await writeFile(
    ini,
    [
      '[databases]',
      `* = host=${primary.hostname} port=${primary.port || '5432'}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      `unix_socket_dir = ${dir}`,
      'auth_type = trust',
      `auth_file = ${join(dir, 'userlist.txt')}`,
      'pool_mode = transaction',
      // The admin console (database "pgbouncer": SHOW POOLS, SHOW CONFIG) for the tests that check it is in use.
      `admin_users = ${user}`,
      'max_client_conn = 2000',
      // As many server connections per database as a test's pool has clients,
      // so transactions do move between server connections (a leaked session
      // setting shows); the reserve keeps a test that nests connections from waiting forever.
      'default_pool_size = 5',
      'reserve_pool_size = 5',
      'reserve_pool_timeout = 1',
      // The server is shared: give back connections to finished tests' databases soon.
      'server_idle_timeout = 10',
      // node-postgres sends none of these today, but drivers and tools do.
      'ignore_startup_parameters = extra_float_digits,options,statement_timeout',
      `pidfile = ${join(dir, 'pgbouncer.pid')}`,
      `logfile = ${join(dir, 'pgbouncer.log')}`,
      'log_connections = 0',
      'log_disconnections = 0',
      '',
    ].join('\n'),
  );
  const asRoot = process.getuid?.() === 0;
  if (asRoot) for (const f of ['', 'pgbouncer.ini', 'userlist.txt']) await chown(join(dir, f), ...(await postgresIds()));
  const child: ChildProcess = asRoot
    ? spawn('runuser', ['-u', 'postgres', '--', BIN, ini], { stdio: ['ignore', 'ignore', 'pipe'] })
    : spawn(BIN, [ini], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  try {
    await waitForPort(port, child, () => stderr);
  } catch (err) {
    child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    port,
    url(database) {
      const u = new URL(primaryUrl);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      u.password = '';
      u.pathname = `/${database}`;
      return u.toString();
    },
    async stop() {
      // runuser does not pass signals on: signal PgBouncer itself, by its pid file.
      const pid = Number((await readFile(join(dir, 'pgbouncer.pid'), 'utf8').catch(() => '')).trim());
      if (pid > 0) {
        try {
          process.kill(pid, 'SIGINT');
        } catch {
          // already gone
        }
      } else {
        child.kill('SIGTERM');
      }
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function waitForPort(port: number, child: ChildProcess, err: () => string): Promise<void> {
  const end = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`pgbouncer exited (${child.exitCode}): ${err()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port }, () => {
        s.end();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`pgbouncer did not listen on ${port}: ${err()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
