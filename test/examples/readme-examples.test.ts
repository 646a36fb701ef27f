import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_SECRET } from '../helpers/app.js';
import { driver, freshDatabase, type TestDb } from '../helpers/db.js';
import { cleanupProcesses, PROCESS_TIMEOUT, ROOT, spawnCli, spawnProcess, tempDir, waitForOutput, type Proc } from '../helpers/processes.js';
import { EXPECTED_OUTPUT as EXPECTED } from './expected-output.js';

/**
 * The README's first hour, for real: the server started the way the README
 * starts it (`agentbase start` with AGENTBASE_SCRIPTS_DIR=examples/scripts, on
 * PGlite in a fresh folder — or on a fresh PostgreSQL database in the postgres
 * project), every program in examples/ run against it as the README runs it,
 * and every README code block that quotes an example file compared with that
 * file, so what the README shows is what was run.
 */

const EXAMPLES = join(ROOT, 'examples');

/** The programs in examples/ (helpers live in examples/lib, replay scripts in examples/scripts). */
const programs = () => readdirSync(EXAMPLES).filter((f) => /\.(sh|ts)$/.test(f)).sort();

/** The environment an example sees: none of the caller's agentbase settings, only what the README has the reader set. */
function exampleEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(AGENTBASE_|DATABASE_URL$)/.test(k)));
  return { ...env, ...extra };
}

function runExample(file: string, env: Record<string, string>): Promise<Proc> {
  const path = join('examples', file);
  // As the README runs them: bash examples/x.sh, npx tsx examples/x.ts (tsx through node directly: no npx start-up).
  const [cmd, args] = file.endsWith('.sh') ? ['bash', [path]] : [process.execPath, ['--import', 'tsx', path]];
  return spawnProcess(cmd, args, { cwd: ROOT, env: exampleEnv(env) }).done;
}

describe('every program in examples/, against a started server', () => {
  let db: TestDb | undefined;
  let server: ReturnType<typeof spawnCli>;
  let url: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    let extra: Record<string, string> = {};
    if (driver === 'postgres') {
      db = await freshDatabase({ migrated: false }); // agentbase start migrates it, as it would a new server
      extra = { DATABASE_URL: db.url!, AGENTBASE_SECRET: TEST_SECRET };
    }
    server = spawnCli(['start'], await tempDir('agentbase-examples-'), {
      PORT: '0',
      LOG_LEVEL: 'warn',
      AGENTBASE_SCRIPTS_DIR: 'examples/scripts',
      // examples/evals-and-webhooks.ts receives its webhooks on loopback
      AGENTBASE_WEBHOOKS_ALLOW_PRIVATE: 'true',
      ...extra,
    });
    url = (await waitForOutput(server.child, /listening on (http:\/\/\S+) \((?:pglite|postgres)\)/))[1]!;
  }, PROCESS_TIMEOUT);

  afterAll(async () => {
    if (server?.child.exitCode === null) {
      server.child.kill('SIGTERM');
      await server.done;
    }
    await cleanupProcesses();
    await db?.drop();
  });

  it('each program has its expected output listed here', () => {
    expect(programs()).toEqual(Object.keys(EXPECTED).sort());
  });

  it('quickstart.sh signs up, makes a key and an agent, and runs it three ways', async () => {
    const r = await runExample('quickstart.sh', { AGENTBASE_URL: url });
    expect(r.code, r.out + r.err).toBe(0);
    for (const re of EXPECTED['quickstart.sh']!) expect(r.out).toMatch(re);
    const [, key] = /AGENTBASE_API_KEY=(\S+)$/m.exec(r.out)!;
    env = { AGENTBASE_URL: url, AGENTBASE_API_KEY: key! };
  }, PROCESS_TIMEOUT);

  it.each(Object.keys(EXPECTED).filter((f) => f !== 'quickstart.sh'))('%s runs with what quickstart.sh printed', async (file) => {
    expect(env, 'quickstart.sh ran first').toBeDefined();
    const r = await runExample(file, env);
    expect(r.code, r.out + r.err).toBe(0);
    for (const re of EXPECTED[file]!) expect(r.out).toMatch(re);
  }, PROCESS_TIMEOUT);

  it('an example fails loudly: a wrong key exits non-zero naming the refusal', async () => {
    const r = await runExample('workflow.sh', { AGENTBASE_URL: url, AGENTBASE_API_KEY: 'ab_not-a-key' });
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/POST \/v1\/agents answered 401: .*"code":"invalid_token"/);
  }, PROCESS_TIMEOUT);

  it('the server stops cleanly afterwards', async () => {
    server.child.kill('SIGTERM');
    expect(await server.done).toMatchObject({ code: 0, signal: null });
  }, PROCESS_TIMEOUT);
});

interface Block {
  /** 1-based line of the opening fence */
  line: number;
  info: string;
  lines: string[];
}

function codeBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  let open: Block | undefined;
  markdown.split('\n').forEach((text, i) => {
    const fence = /^```(.*)$/.exec(text);
    if (!fence) {
      open?.lines.push(text);
    } else if (open) {
      blocks.push(open);
      open = undefined;
    } else {
      open = { line: i + 1, info: fence[1]!.trim(), lines: [] };
    }
  });
  return blocks;
}

/**
 * The example file a block quotes: named in its info string (```json examples/scripts/greeter.json)
 * or by its first line, a comment that starts with the path (# examples/quickstart.sh — …).
 */
function quotedFile(b: Block): string | undefined {
  return /(?:^|\s)(examples\/\S+)/.exec(b.info)?.[1] ?? /^(?:#|\/\/) (examples\/\S+)/.exec(b.lines[0] ?? '')?.[1];
}

/** Where the block's lines occur, in order and unbroken, in the file's lines; -1 if nowhere. */
function indexOfLines(file: string[], block: string[]): number {
  const norm = (l: string) => l.trimEnd();
  for (let i = 0; i + block.length <= file.length; i++) {
    if (block.every((l, j) => norm(l) === norm(file[i + j]!))) return i;
  }
  return -1;
}

describe.runIf(driver === 'pglite')('the README quotes the examples as they are', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const quoting = codeBlocks(readme).filter((b) => quotedFile(b) !== undefined);

  it('has blocks that quote example files', () => {
    expect(quoting.length).toBeGreaterThanOrEqual(programs().length);
  });

  it.each(quoting.map((b) => [`${quotedFile(b)} (README.md line ${b.line})`, b] as const))('%s is the file or an unbroken part of it', (_, b) => {
    const path = join(ROOT, quotedFile(b)!);
    expect(existsSync(path), `${quotedFile(b)} exists`).toBe(true);
    const at = indexOfLines(readFileSync(path, 'utf8').split('\n'), b.lines);
    expect(at, `README.md line ${b.line}: the block differs from ${quotedFile(b)}; copy the file's lines again`).toBeGreaterThanOrEqual(0);
  });

  it('shows every program in examples/', () => {
    const shown = new Set(quoting.map((b) => quotedFile(b)));
    for (const p of programs()) expect(shown, `README.md quotes examples/${p}`).toContain(`examples/${p}`);
  });

  it('names only example files that exist', () => {
    // Not test/examples/…: a path that starts at examples/.
    const named = [...readme.matchAll(/(?<![\w/])examples\/[\w./-]*\w/g)].map((m) => m[0]);
    expect(named.length).toBeGreaterThan(0);
    for (const n of new Set(named)) expect(existsSync(join(ROOT, n)), `${n} (named in README.md) exists`).toBe(true);
  });
});
