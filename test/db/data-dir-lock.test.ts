import { spawnSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataDirLockedError, holderIsGone, lockDataDir, readHolder, type LockHolder } from '../../src/db/data-dir-lock.js';
import { driver } from '../helpers/db.js';
import { cleanupProcesses, tempDir } from '../helpers/processes.js';

/**
 * The embedded data folder's lock and who holds it. Dead holders are made
 * with real processes that have exited; the restart of a killed server is in
 * test/cli/crash-restart.test.ts.
 */

afterAll(cleanupProcesses);

const neverCompromised = (err: Error) => {
  throw err;
};

/** The pid of a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

/** A folder whose lock is fresh (as if its holder had refreshed it a moment ago) and held by `holder`. */
async function heldBy(holder: LockHolder): Promise<string> {
  const dir = await tempDir('agentbase-lock-');
  await mkdir(join(dir, '.lock'));
  await writeFile(join(dir, 'lock-holder.json'), JSON.stringify(holder));
  return dir;
}

const now = () => new Date().toISOString();

// Files and processes only: once is enough.
describe.runIf(driver === 'pglite')('the data folder lock', () => {
  it('records its holder: pid, host and start times', async () => {
    const dir = await tempDir('agentbase-lock-');
    const lock = await lockDataDir(dir, neverCompromised);
    try {
      const h = await readHolder(dir);
      expect(h).toMatchObject({ pid: process.pid, host: hostname() });
      expect(Date.parse(h!.processStartedAt)).toBeLessThanOrEqual(Date.parse(h!.lockedAt));
      if (process.platform === 'linux') expect(h!.procStart).toMatch(/^\d+$/);
      expect(lock.tookOverFrom).toBeUndefined();
      expect(await holderIsGone(h!)).toBe(false);
    } finally {
      await lock.release();
    }
  });

  it('refuses a second lock while the holder lives, naming its pid', async () => {
    const dir = await tempDir('agentbase-lock-');
    const lock = await lockDataDir(dir, neverCompromised);
    try {
      const err = await lockDataDir(dir, neverCompromised).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(DataDirLockedError);
      expect((err as Error).message).toContain(`(pid ${process.pid})`);
    } finally {
      await lock.release();
    }
  });

  it('takes over at once from a holder of this host whose process is gone, and says whose lock it took', async () => {
    const dead: LockHolder = { pid: deadPid(), host: hostname(), processStartedAt: now(), lockedAt: now() };
    const dir = await heldBy(dead);
    expect(await holderIsGone(dead)).toBe(true);
    const lock = await lockDataDir(dir, neverCompromised);
    try {
      expect(lock.tookOverFrom).toEqual(dead);
      expect(await readHolder(dir)).toMatchObject({ pid: process.pid });
    } finally {
      await lock.release();
    }
  });

  it.runIf(process.platform === 'linux')('tells a reused pid from its holder by the start time of the process', async () => {
    // This very process, recorded with another kernel start time: the pid was reused.
    const stat = await readFile(`/proc/${process.pid}/stat`, 'utf8');
    const procStart = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
    const reused: LockHolder = { pid: process.pid, host: hostname(), processStartedAt: now(), lockedAt: now(), procStart: String(Number(procStart) - 1) };
    expect(await holderIsGone(reused)).toBe(true);
    expect(await holderIsGone({ ...reused, procStart })).toBe(false);
  });

  it('does not take over from a holder on another host: the refusal names the host and when the lock expires', async () => {
    const remote: LockHolder = { pid: deadPid(), host: `not-${hostname()}`, processStartedAt: now(), lockedAt: now() };
    const dir = await heldBy(remote);
    const err = await lockDataDir(dir, neverCompromised).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(DataDirLockedError);
    expect((err as Error).message).toContain(`(pid ${remote.pid}) on host not-${hostname()}`);
    expect((err as Error).message).toContain('expires 10 s after its last refresh');
  });

  it('lets exactly one of several simultaneous starts take over from a dead holder', async () => {
    const dead: LockHolder = { pid: deadPid(), host: hostname(), processStartedAt: now(), lockedAt: now() };
    const dir = await heldBy(dead);
    const results = await Promise.allSettled(Array.from({ length: 4 }, () => lockDataDir(dir, neverCompromised)));
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(DataDirLockedError);
    await (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof lockDataDir>>>).value.release();
  });
});
