import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { BackupError } from './errors.js';

const run = promisify(execFile);

/**
 * pg_dump and pg_restore of the server's major version. A pg_dump older than
 * the server refuses to dump it, and a newer one writes an archive an older
 * pg_restore cannot read, so the tools must match the server's major. Debian
 * and Ubuntu install every major side by side under /usr/lib/postgresql/N/bin
 * while PATH holds one (often the newest); RHEL uses /usr/pgsql-N/bin and
 * Homebrew postgresql@N.
 */

export interface PgTool {
  path: string;
  version: string;
  major: number;
}

function candidates(name: string, major: number, binDir: string | undefined, pathEnv: string | undefined): string[] {
  const out: string[] = [];
  if (binDir) out.push(join(binDir, name));
  for (const d of (pathEnv ?? '').split(delimiter)) if (d) out.push(join(d, name));
  out.push(
    `/usr/lib/postgresql/${major}/bin/${name}`,
    `/usr/pgsql-${major}/bin/${name}`,
    `/opt/homebrew/opt/postgresql@${major}/bin/${name}`,
    `/usr/local/opt/postgresql@${major}/bin/${name}`,
  );
  return [...new Set(out)];
}

async function versionOf(path: string): Promise<{ version: string; major: number } | undefined> {
  try {
    const { stdout } = await run(path, ['--version']);
    const m = /\(PostgreSQL\)\s+((\d+)(?:\.\d+)*)/.exec(stdout);
    return m ? { version: m[1]!, major: Number(m[2]) } : undefined;
  } catch {
    return undefined;
  }
}

export async function findPgTool(name: 'pg_dump' | 'pg_restore' | 'psql', major: number, opts: { binDir?: string; pathEnv?: string }): Promise<PgTool> {
  const seen: string[] = [];
  for (const path of candidates(name, major, opts.binDir, opts.pathEnv)) {
    if (!existsSync(path)) continue;
    const v = await versionOf(path);
    if (!v) continue;
    if (v.major === major) return { path, ...v };
    seen.push(`${path} is ${v.version}`);
  }
  throw new BackupError(
    'pg_tool_missing',
    `${name} for PostgreSQL ${major} (the server's major version) was not found${seen.length ? `: ${seen.join('; ')}` : ' on PATH or under /usr/lib/postgresql/' + major + '/bin'}. ` +
      `Install the PostgreSQL ${major} client tools (Debian/Ubuntu: postgresql-client-${major}) or pass --pg-bin DIR.`,
  );
}

/**
 * The connection string without its password, which goes in PGPASSWORD
 * instead: a command line is visible to every user of the host (ps).
 */
export function connectionFor(url: string): { dbname: string; env: Record<string, string> } {
  const u = new URL(url);
  const env: Record<string, string> = {};
  if (u.password) {
    env.PGPASSWORD = decodeURIComponent(u.password);
    u.password = '';
  }
  return { dbname: u.toString(), env };
}

export interface RunResult {
  stderr: string;
}

/** Runs a tool; each stderr line goes to `onLine`; a non-zero exit is a pg_tool_failed error naming the tool's own message. */
export function runTool(
  tool: PgTool,
  args: string[],
  env: Record<string, string | undefined>,
  onLine: (line: string) => void = () => {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool.path, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let pending = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => {
      if (stderr.length < 1_000_000) stderr += s;
      pending += s;
      let nl;
      while ((nl = pending.indexOf('\n')) >= 0) {
        onLine(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
      }
    });
    child.on('error', (err) => reject(new BackupError('pg_tool_failed', `${tool.path} could not be run: ${err.message}`)));
    child.on('close', (code, signal) => {
      if (code === 0) return resolve({ stderr });
      const errors = stderr
        .split('\n')
        .filter((l) => /error|fatal/i.test(l))
        .slice(0, 5)
        .join('\n');
      reject(new BackupError('pg_tool_failed', `${tool.path.split('/').pop()} failed (${signal ?? `exit ${code}`}):\n${errors || stderr.slice(-2000)}`));
    });
  });
}

/**
 * The archive's table of contents without its materialized views' data,
 * written to `listFile` for pg_restore --use-list; returns how many entries
 * it keeps (the total the restore's progress counts toward). A view's data
 * entry is a REFRESH, which pg_restore runs with row_security off: a view
 * owned by a role under forced RLS (agentbase_auth) then fails the whole
 * restore. The views come back empty and are refreshed after the restore.
 */
export function writeRestoreList(tool: PgTool, dump: string, listFile: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool.path, ['--list', dump], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (s: string) => (out += s));
    child.stderr.on('data', (s: Buffer) => (err += s.toString('utf8')));
    child.on('error', (e) => reject(new BackupError('pg_tool_failed', `${tool.path} could not be run: ${e.message}`)));
    child.on('close', (code) => {
      if (code !== 0) return reject(new BackupError('pg_tool_failed', `pg_restore --list failed (exit ${code}):\n${err.slice(-2000)}`));
      const kept = out.split('\n').filter((l) => !/ MATERIALIZED VIEW DATA /.test(l));
      writeFile(listFile, kept.join('\n')).then(
        () => resolve(kept.filter((l) => l.trim() && !l.startsWith(';')).length),
        reject,
      );
    });
  });
}

/**
 * `pg_restore -f -` (the archive as an SQL script) piped into `psql
 * --single-transaction`, after `preamble`: how a restore that must first clear
 * the database stays one transaction (pg_restore --clean cannot drop a
 * partitioned table's inherited constraints). Reports bytes fed to psql.
 */
export function restoreThroughPsql(
  pgRestore: PgTool,
  psql: PgTool,
  dump: string,
  preamble: string,
  conn: { dbname: string; env: Record<string, string> },
  onBytes: (n: number) => void,
  listFile: string,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, ...conn.env };
    const script = spawn(pgRestore.path, ['--file=-', `--use-list=${listFile}`, dump], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const sink = spawn(psql.path, ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--single-transaction', '--no-password', '-f', '-', `--dbname=${conn.dbname}`], {
      env,
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let errors = '';
    const collect = (s: Buffer) => {
      if (errors.length < 100_000) errors += s.toString('utf8');
    };
    script.stderr.on('data', collect);
    sink.stderr.on('data', collect);
    let fed = 0;
    sink.stdin.on('error', () => {}); // psql stopped on an error: its exit code says so
    sink.stdin.write(preamble);
    script.stdout.on('data', (chunk: Buffer) => {
      fed += chunk.length;
      onBytes(fed);
      if (!sink.stdin.write(chunk)) {
        script.stdout.pause();
        sink.stdin.once('drain', () => script.stdout.resume());
      }
    });
    script.stdout.on('end', () => sink.stdin.end());
    let scriptCode: number | null = null;
    script.on('close', (code) => {
      scriptCode = code;
    });
    script.on('error', (err) => reject(new BackupError('pg_tool_failed', `${pgRestore.path} could not be run: ${err.message}`)));
    sink.on('error', (err) => reject(new BackupError('pg_tool_failed', `${psql.path} could not be run: ${err.message}`)));
    sink.on('close', (code) => {
      if (code === 0 && scriptCode !== null && scriptCode !== 0) {
        return reject(new BackupError('pg_tool_failed', `pg_restore failed (exit ${scriptCode}):\n${errors.slice(-2000)}`));
      }
      if (code === 0) return resolve();
      const lines = errors.split('\n').filter((l) => /error|fatal/i.test(l)).slice(0, 5).join('\n');
      reject(new BackupError('pg_tool_failed', `the restore failed and was rolled back (psql exit ${code}):\n${lines || errors.slice(-2000)}`));
    });
  });
}
