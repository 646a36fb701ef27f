import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * One measured process start (Linux only: it reads /proc): launch → first 200
 * from GET /readyz, the CPU the process used until then, its resident memory
 * after a settle period, and its peak resident memory.
 */

export interface StartSample {
  readyMs: number;
  /** user + system CPU of the whole process (every thread) until ready */
  cpuMs: number;
  /** VmRSS after the settle period */
  idleRssMb: number;
  /** VmHWM (peak resident set) at the end of the settle period */
  peakRssMb: number;
}

export interface StartSpec {
  args: string[];
  cwd: string;
  env: Record<string, string | undefined>;
  port: number;
  settleMs: number;
  /** a start still not ready after this fails the bench */
  timeoutMs: number;
}

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** utime + stime of a live process, in ms (fields 14 and 15 of /proc/<pid>/stat). */
export function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may hold spaces: count fields after its closing parenthesis (field 3 is index 0).
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / ticksPerSecond();
}

/** A field of /proc/<pid>/status given in kB, in MB. */
export function statusMbOf(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(m[1]) / 1024;
}

/** A port nothing listens on now (the kernel picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen({ host: '127.0.0.1', port: 0 }, () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function isReady(port: number): Promise<boolean> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2_000) });
    await r.arrayBuffer();
    return r.status === 200;
  } catch {
    return false;
  }
}

/** Whether the process used less than `share` of one core over the next `windowMs`. */
async function isQuiet(pid: number, windowMs: number, share: number): Promise<boolean> {
  try {
    const before = cpuMsOf(pid);
    await sleep(windowMs);
    return cpuMsOf(pid) - before < windowMs * share;
  } catch {
    return true; // gone
  }
}

/**
 * Waits (up to maxMs) until every one of `pids` is idle: after ready, a PGlite
 * process still compiles hot WebAssembly functions on background threads, and
 * a launch measured meanwhile would share the cores with that.
 */
export async function waitQuiet(pids: number[], maxMs = 15_000): Promise<void> {
  const deadline = performance.now() + maxMs;
  for (const pid of pids) {
    while (performance.now() < deadline && !(await isQuiet(pid, 500, 0.05))) {
      // keep waiting
    }
  }
}

export interface RunningStart {
  pid: number;
  readyMs: number;
  cpuMs: number;
  /** resolves settleMs after ready with the memory figures, once the process has been stopped */
  settled: Promise<StartSample>;
}

/**
 * Spawns `node <args>` and resolves once it is ready. It then settles on its
 * own (other starts may be measured meanwhile: an idle process uses ~1% of a
 * core), is measured, and is stopped with SIGTERM.
 */
export async function launch(spec: StartSpec): Promise<RunningStart> {
  const t0 = performance.now();
  const child = spawn(process.execPath, spec.args, { cwd: spec.cwd, env: spec.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (b: Buffer) => {
    output = (output + b.toString()).slice(-4_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let gone = false;
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  void exited.then(() => (gone = true));
  const stop = async () => {
    if (gone) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(killer);
  };
  const pid = child.pid!;
  let readyMs = 0;
  let cpuMs = 0;
  try {
    // 10 ms between polls: the figure is at most that late, on every row alike.
    for (;;) {
      if (gone) throw new Error(`exited before it was ready:\n${output}`);
      if (performance.now() - t0 > spec.timeoutMs) throw new Error(`not ready after ${spec.timeoutMs} ms:\n${output}`);
      if (await isReady(spec.port)) {
        readyMs = performance.now() - t0;
        cpuMs = cpuMsOf(pid);
        break;
      }
      await sleep(10);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  const settled = (async () => {
    try {
      await sleep(spec.settleMs);
      if (gone) throw new Error(`exited while settling:\n${output}`);
      return { readyMs, cpuMs, idleRssMb: statusMbOf(pid, 'VmRSS'), peakRssMb: statusMbOf(pid, 'VmHWM') };
    } finally {
      await stop();
    }
  })();
  return { pid, readyMs, cpuMs, settled };
}
