import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Real `agentbase` processes for tests (the CLI through tsx), cleaned up with cleanupProcesses(). */

export const ROOT = new URL('../../', import.meta.url).pathname;
export const PROCESS_TIMEOUT = 120_000;

const dirs: string[] = [];
const children: ChildProcess[] = [];

export async function tempDir(prefix = 'agentbase-cli-'): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

export async function cleanupProcesses(): Promise<void> {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs) await rm(d, { recursive: true, force: true });
}

export interface Proc {
  code: number;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
}

/** Runs the CLI as a process in embedded mode on `dir` (DATABASE_URL empty unless `extra` sets it). */
export function spawnCli(args: string[], dir: string, extra: Record<string, string> = {}): { child: ChildProcess; done: Promise<Proc> } {
  // DATABASE_URL empty: embedded mode even if the caller's environment (or a .env) names a server.
  const env = { ...process.env, AGENTBASE_DATA_DIR: dir, DATABASE_URL: '', LOG_LEVEL: 'silent', ...extra };
  return spawnProcess(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: ROOT, env });
}

/** Any command as a process (killed by cleanupProcesses() if still running); output collected. */
export function spawnProcess(
  command: string,
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv },
): { child: ChildProcess; done: Promise<Proc> } {
  const child = spawn(command, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  const done = new Promise<Proc>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? -1, signal, out, err }));
  });
  return { child, done };
}

/** Resolves with the first match of re in what the child prints to stdout from now on. */
export function waitForOutput(child: ChildProcess, re: RegExp): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (b: Buffer) => {
      buf += b.toString();
      const m = re.exec(buf);
      if (m) {
        child.stdout!.off('data', onData);
        resolve(m);
      }
    };
    child.stdout!.on('data', onData);
    child.once('close', (code) => reject(new Error(`exited with ${code} before printing ${re}`)));
  });
}
