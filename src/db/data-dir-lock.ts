import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import lockfile from 'proper-lockfile';

/**
 * PGlite has no lock on its data folder: two processes opening it would each
 * write their own WAL and silently lose the other's commits. We take an
 * exclusive lock before opening it and refuse a second process.
 *
 * The lock is proper-lockfile's (an atomic mkdir of `.lock`, its mtime
 * refreshed every 2 s, so a holder that stopped refreshing goes stale after
 * 10 s, which also covers a holder on another host sharing the folder).
 * Beside it, `lock-holder.json` records who holds it: pid, host, when the
 * process started (and, on Linux, the kernel's start time of that pid and the
 * boot id). A start that finds the lock held by a process of this host that
 * no longer exists — killed with SIGKILL, say — takes it over at once instead
 * of waiting for it to go stale. A pid that was reused by another process is
 * told apart by its start time.
 */

export class DataDirLockedError extends Error {
  override name = 'DataDirLockedError';
}

export interface LockHolder {
  pid: number;
  host: string;
  /** when the holding process started (ISO 8601) */
  processStartedAt: string;
  /** when it took the lock (ISO 8601) */
  lockedAt: string;
  /** Linux: field 22 of /proc/<pid>/stat, the pid's start in clock ticks since boot */
  procStart?: string;
  /** Linux: /proc/sys/kernel/random/boot_id */
  bootId?: string;
}

export interface DataDirLock {
  /** the dead holder whose lock this start took over, if any */
  tookOverFrom: LockHolder | undefined;
  release(): Promise<void>;
}

const HOLDER_FILE = 'lock-holder.json';
const LOCK = '.lock';
const TAKEOVER = '.lock-takeover';
const STALE_MS = 10_000;

async function procStartOf(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after its closing parenthesis.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

async function bootId(): Promise<string | undefined> {
  return (await readFile('/proc/sys/kernel/random/boot_id', 'utf8').catch(() => undefined))?.trim();
}

/** When this process started, to the millisecond. */
const ownStart = (): string => new Date(Math.round(Date.now() - process.uptime() * 1000)).toISOString();

async function thisProcess(): Promise<LockHolder> {
  const procStart = await procStartOf(process.pid);
  const boot = await bootId();
  return {
    pid: process.pid,
    host: hostname(),
    processStartedAt: ownStart(),
    lockedAt: new Date().toISOString(),
    ...(procStart ? { procStart } : {}),
    ...(boot ? { bootId: boot } : {}),
  };
}

export async function readHolder(dir: string): Promise<LockHolder | undefined> {
  try {
    const h = JSON.parse(await readFile(join(dir, HOLDER_FILE), 'utf8')) as Partial<LockHolder>;
    return typeof h.pid === 'number' && typeof h.host === 'string' && typeof h.processStartedAt === 'string'
      ? (h as LockHolder)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether the recorded holder is certainly gone: on this host, and its pid no
 * longer exists, or now belongs to a process that started at another time, or
 * the machine has rebooted since. A holder on another host is never known to
 * be gone (its lock goes stale by itself).
 */
export async function holderIsGone(h: LockHolder): Promise<boolean> {
  if (h.host !== hostname()) return false;
  const boot = await bootId();
  if (h.bootId && boot && h.bootId !== boot) return true;
  try {
    process.kill(h.pid, 0);
  } catch (err) {
    // EPERM: the pid exists, under another user.
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
  if (h.procStart) {
    const now = await procStartOf(h.pid);
    if (now !== undefined) return now !== h.procStart;
  }
  // Without /proc, only our own pid can be checked for reuse (a restarted container is often pid 1 again).
  if (h.pid === process.pid) return Math.abs(Date.parse(h.processStartedAt) - Date.parse(ownStart())) > 1000;
  return false;
}

function lockedError(abs: string, h: LockHolder | undefined): DataDirLockedError {
  if (!h) {
    return new DataDirLockedError(
      `the data folder ${abs} is in use by another agentbase process (pid unknown: it has not recorded itself yet); if no process holds it, the lock expires ${STALE_MS / 1000} s after its last refresh`,
    );
  }
  const where = h.host === hostname() ? '' : ` on host ${h.host}`;
  // "(pid N)" first: operators (and scripts) look for it.
  const expiry = h.host === hostname() ? '' : `; if that host is gone, the lock expires ${STALE_MS / 1000} s after its last refresh`;
  return new DataDirLockedError(
    `the data folder ${abs} is in use by another agentbase process (pid ${h.pid})${where}, which has held it since ${h.lockedAt}; stop it first, or set AGENTBASE_DATA_DIR to another folder${expiry}`,
  );
}

const isLocked = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ELOCKED';

export async function lockDataDir(dir: string, onCompromised: (err: Error) => void): Promise<DataDirLock> {
  const abs = resolve(dir);
  await mkdir(abs, { recursive: true });
  const opts = { lockfilePath: join(abs, LOCK), stale: STALE_MS, update: 2_000, retries: 0, onCompromised };
  // Taking the lock and recording the holder happen under a second, short
  // lock, and so does a takeover, which reads the holder under it: a takeover
  // therefore never sees a fresh lock beside its predecessor's record, and two
  // starts that both found a dead holder cannot both remove its lock. (A
  // distinct resource path: proper-lockfile keys its locks by resource.)
  const unlockMutex = await lockfile
    .lock(join(abs, TAKEOVER), {
      realpath: false,
      lockfilePath: join(abs, TAKEOVER),
      stale: STALE_MS,
      update: 2_000,
      // Long enough to outlast a mutex left by a crash (it goes stale after 10 s).
      retries: { retries: 150, minTimeout: 20, maxTimeout: 100 },
    })
    .catch(async (e: unknown) => {
      throw isLocked(e) ? lockedError(abs, await readHolder(abs)) : e;
    });
  let tookOverFrom: LockHolder | undefined;
  try {
    let release: () => Promise<void>;
    try {
      release = await lockfile.lock(abs, opts);
    } catch (err) {
      if (!isLocked(err)) throw err;
      const holder = await readHolder(abs);
      if (!holder || !(await holderIsGone(holder))) throw lockedError(abs, holder);
      await rm(join(abs, LOCK), { recursive: true, force: true });
      release = await lockfile.lock(abs, opts);
      tookOverFrom = holder;
    }
    try {
      await recordHolder(abs);
    } catch (err) {
      await release();
      throw err;
    }
    return { tookOverFrom, release: () => release() };
  } finally {
    await unlockMutex();
  }
}

/** Written to a temporary file and renamed, so a reader never sees half of it. */
async function recordHolder(abs: string): Promise<void> {
  const tmp = join(abs, `${HOLDER_FILE}.${process.pid}.${randomBytes(4).toString('hex')}`);
  await writeFile(tmp, `${JSON.stringify(await thisProcess())}\n`);
  await rename(tmp, join(abs, HOLDER_FILE));
}
