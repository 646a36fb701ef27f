import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import lockfile from 'proper-lockfile';

/**
 * PGlite has no lock on its data folder: two processes opening it would each
 * write their own WAL and silently lose the other's commits. We take an
 * exclusive lock (proper-lockfile: an atomic mkdir, refreshed so a crashed
 * holder goes stale) before opening it, and refuse a second process.
 */

export class DataDirLockedError extends Error {
  override name = 'DataDirLockedError';
}

export interface DataDirLock {
  release(): Promise<void>;
}

export async function lockDataDir(dir: string, onCompromised: (err: Error) => void): Promise<DataDirLock> {
  const abs = resolve(dir);
  await mkdir(abs, { recursive: true });
  const owner = join(abs, 'agentbase.pid');
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(abs, {
      lockfilePath: join(abs, '.lock'),
      stale: 10_000,
      update: 2_000,
      retries: 0,
      onCompromised,
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOCKED') {
      const pid = await readFile(owner, 'utf8').catch(() => 'unknown');
      throw new DataDirLockedError(
        `the data folder ${abs} is in use by another agentbase process (pid ${pid.trim()}); stop it first, or set AGENTBASE_DATA_DIR to another folder`,
      );
    }
    throw err;
  }
  await writeFile(owner, String(process.pid));
  return { release: () => release() };
}
