import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * A real streaming replica of the test server (TEST_DATABASE_URL): a base
 * backup of the whole cluster into a temp folder (-R: it starts as a standby
 * streaming from the primary), started on a free loopback port. Databases the
 * tests create on the primary afterwards appear on it by replication.
 * PostgreSQL refuses to run as root: as root, everything runs as `postgres`.
 */

const run = promisify(execFile);

export function pgBin(name: string): string {
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base) ? readdirSync(base).sort((a, b) => Number(a) - Number(b)) : [];
  for (const v of versions.reverse()) {
    const p = join(base, v, 'bin', name);
    if (existsSync(p)) return p;
  }
  return name; // on PATH
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const asRoot = process.getuid?.() === 0;

/** Runs a server binary, as the postgres OS user when we are root. */
export async function asPostgres(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  const r = await run(file, argv, { env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 });
  return r.stdout;
}

export interface Replica {
  port: number;
  dir: string;
  /** the URL of `database` on the replica (user and password as the primary's) */
  url(database: string): string;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** stop and delete the folder */
  destroy(): Promise<void>;
}

export async function startReplica(primaryUrl: string): Promise<Replica> {
  const primary = new URL(primaryUrl);
  const dir = await mkdtemp(join(tmpdir(), 'agentbase-replica-'));
  if (asRoot) await run('chown', ['postgres:postgres', dir]);
  const pgEnv = primary.password ? { PGPASSWORD: decodeURIComponent(primary.password) } : {};
  const args = ['-h', primary.hostname, '-p', primary.port || '5432', '-U', decodeURIComponent(primary.username) || 'postgres', '-D', dir, '-R', '-X', 'stream', '--no-sync'];
  // The shared server checkpoints hard while other suites create and drop
  // databases; a backup's WAL stream has been cut by one. Try again.
  for (let attempt = 1; ; attempt++) {
    try {
      await asPostgres(pgBin('pg_basebackup'), args, pgEnv);
      break;
    } catch (err) {
      if (attempt >= 3) {
        await rm(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }
  // Debian keeps postgresql.conf and pg_hba.conf in /etc: the backup has neither.
  await writeFile(join(dir, 'postgresql.conf'), '');
  await writeFile(join(dir, 'pg_hba.conf'), 'local all all trust\nhost all all 127.0.0.1/32 trust\n');
  await writeFile(join(dir, 'pg_ident.conf'), '');
  if (asRoot) for (const f of ['postgresql.conf', 'pg_hba.conf', 'pg_ident.conf']) await chown(join(dir, f), ...(await postgresIds()));
  const port = await freePort();
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c shared_preload_libraries=pg_stat_statements -c hot_standby=on -c fsync=off`;
  const start = () => asPostgres(pgBin('pg_ctl'), ['-D', dir, '-o', opts, '-l', join(dir, 'server.log'), '-w', '-t', '60', 'start']).then(() => {});
  const stop = () => asPostgres(pgBin('pg_ctl'), ['-D', dir, '-m', 'immediate', '-w', 'stop']).then(() => {});
  await start();
  let running = true;
  return {
    port,
    dir,
    url(database) {
      const u = new URL(primaryUrl);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      u.pathname = `/${database}`;
      return u.toString();
    },
    async stop() {
      if (running) await stop();
      running = false;
    },
    async start() {
      if (!running) await start();
      running = true;
    },
    async destroy() {
      if (running) await stop().catch(() => {});
      running = false;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function postgresIds(): Promise<[number, number]> {
  const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
  const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
  return [uid, gid];
}
