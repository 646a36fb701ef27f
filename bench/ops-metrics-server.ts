import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './startup-probe.js';

/**
 * The real service as a child process for the ops-metrics bench: the built
 * CLI (`node dist/cli/main.js start`) on a free loopback port, configured by
 * its environment only, waited on until GET /readyz answers 200.
 */

const ROOT = new URL('../', import.meta.url).pathname;
export const CLI = join(ROOT, 'dist/cli/main.js');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Throws when there is no built CLI; warns (through `log`) when src/ is newer than it. */
export function checkBuilt(log: (s: string) => void): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (the bench measures the built CLI)`);
  if (newestMtime(join(ROOT, 'src')) > statSync(CLI).mtimeMs) log('warning: src/ has files newer than dist/: run npm run build to measure them');
}

// What the service reads from its environment besides AGENTBASE_* and DATABASE_* (src/config/config.ts).
const SERVICE_SETTINGS = new Set([
  'HOST', 'PORT', 'LOG_LEVEL', 'BODY_LIMIT_BYTES', 'REQUEST_TIMEOUT_SECONDS', 'ACCESS_TOKEN_TTL_SECONDS',
  'REFRESH_TOKEN_TTL_SECONDS', 'LOGIN_MAX_ATTEMPTS', 'LOGIN_LOCKOUT_SECONDS', 'MAINTENANCE_INTERVAL_SECONDS',
]);

/**
 * A child's environment: the parent's (PATH, HOME, ...) without any setting
 * the service reads (AGENTBASE_*, DATABASE_*, HOST, PORT, ...), then `env`.
 */
export function childEnv(env: Record<string, string>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('AGENTBASE_') && !k.startsWith('DATABASE_') && !SERVICE_SETTINGS.has(k)) out[k] = v;
  }
  return { ...out, ...env };
}

export interface ServiceProcess {
  pid: number;
  /** http://127.0.0.1:<port> */
  url: string;
  /** whether it has exited */
  exited(): boolean;
  /** the last few kB of its stdout and stderr */
  output(): string;
  /** SIGTERM, then SIGKILL after killAfterMs; resolves once it has exited (at once if it already had) */
  stop(killAfterMs?: number): Promise<void>;
}

async function isReady(url: string): Promise<boolean> {
  try {
    const r = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) });
    await r.arrayBuffer();
    return r.status === 200;
  } catch {
    return false;
  }
}

/**
 * Spawns `node dist/cli/main.js start` with `env` (on top of childEnv's
 * pass-through; HOST and PORT are set here) in `cwd`, and resolves once it is
 * ready. A process still running when this one exits is killed then.
 */
export async function startService(opts: { env: Record<string, string>; cwd: string; timeoutMs: number }): Promise<ServiceProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [CLI, 'start'], {
    cwd: opts.cwd,
    env: childEnv({ ...opts.env, HOST: '127.0.0.1', PORT: String(port) }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (b: Buffer) => {
    output = (output + b.toString()).slice(-4_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.once('error', (err) => keep(Buffer.from(`\n${String(err)}\n`)));
  let gone = false;
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  // An interrupted bench (an error thrown past the caller, process.exit on a signal) must not leave it running.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  void exited.then(() => {
    gone = true;
    process.off('exit', killOnExit);
  });
  const stop = async (killAfterMs = 30_000) => {
    if (gone) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    await exited;
    clearTimeout(killer);
  };
  const t0 = performance.now();
  try {
    for (;;) {
      if (gone) throw new Error(`agentbase start exited before it was ready:\n${output}`);
      if (performance.now() - t0 > opts.timeoutMs) throw new Error(`agentbase start not ready after ${opts.timeoutMs} ms:\n${output}`);
      if (await isReady(url)) break;
      await sleep(50);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { pid: child.pid!, url, exited: () => gone, output: () => output, stop };
}
