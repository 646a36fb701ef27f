import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent } from '../agents/fixtures.js';
import { createTestApp, signupUser, type TestApp } from '../helpers/app.js';
import { driver } from '../helpers/db.js';
import { createKey } from '../helpers/identity.js';
import { cleanupProcesses, ROOT, spawnProcess, tempDir, type Proc } from '../helpers/processes.js';
import { EXPECTED_OUTPUT } from '../examples/expected-output.js';

/**
 * The SDK as an application outside this repository gets it, following the
 * README: the package packed by `npm pack` (whose prepare script builds
 * dist/), installed from the tarball into an empty folder under the system's
 * temp directory — where nothing of this repository's node_modules is
 * visible — imported as 'agentbase/sdk', type-checked by that folder's own
 * TypeScript against the declarations in the tarball, compiled, and run with
 * plain node against a server. Driver-independent, so it runs once (PGlite).
 */

const TIMEOUT = 170_000;
const version = async (pkg: string) => (JSON.parse(await readFile(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;

// The child processes get a user's environment: none of what `npm test` sets for its
// own scripts (npm_package_json and friends point at this repository).
const userEnv = (): NodeJS.ProcessEnv =>
  Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(npm_|INIT_CWD$|AGENTBASE_)/i.test(k)));

async function run(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<Proc> {
  const r = await spawnProcess(cmd, args, { cwd, env: { ...userEnv(), ...env } }).done;
  expect(r.code, `${cmd} ${args.join(' ')} in ${cwd}:\n${r.out}\n${r.err}`).toBe(0);
  return r;
}
const npm = (args: string[], cwd: string) => run('npm', [...args, '--no-audit', '--no-fund'], cwd);

// What the package's own types must be: not `any` (a declaration that failed to resolve
// degrades to any without an error), and strict enough to refuse a wrong call.
const TYPE_CHECKS = `
import { AgentbaseClient, BatchExporter, createExporter, type ExecutionHandle } from 'agentbase/sdk';
import type { CostReport, Execution, ExecutionDetail, ExportProblem, IngestResult, UsageReport } from 'agentbase/sdk';

type IsAny<T> = 0 extends 1 & T ? true : false;
type NotAny<T extends false> = T;
export type Checks = [
  NotAny<IsAny<Execution>>,
  NotAny<IsAny<Execution['status']>>,
  NotAny<IsAny<ExecutionDetail['spans'][number]>>,
  NotAny<IsAny<CostReport['data'][number]>>,
  NotAny<IsAny<IngestResult>>,
  NotAny<IsAny<UsageReport>>,
  NotAny<IsAny<ExportProblem>>,
];
const client = new AgentbaseClient({ baseUrl: 'http://127.0.0.1:4100', apiKey: 'ab_x' });
// @ts-expect-error: an execution's status is one of its lifecycle's
void client.listExecutions({ status: 'finished' });
// @ts-expect-error: a span needs its kind
new BatchExporter({ client }).recordSpan({ executionClientId: 'e', name: 'x', startedAt: '2026-01-01T00:00:00Z' });
export const handle: ExecutionHandle = createExporter({ client }).startExecution({ agentSlug: 'greeter' });
`;

describe.runIf(driver === 'pglite')('the SDK from a packed tarball, in an application outside the repository', () => {
  let t: TestApp;
  let url: string;
  let app: string;
  let tarball: string;
  let packed: { path: string }[];

  beforeAll(async () => {
    t = await createTestApp();
    url = await t.app.listen({ port: 0, host: '127.0.0.1' });
    app = await tempDir('agentbase-app-');
    const out = await tempDir('agentbase-pack-');
    // npm pack runs the prepare script (tsc -p tsconfig.build.json): dist/ is built from the sources now.
    const r = await npm(['pack', '--json', '--pack-destination', out], ROOT);
    const [info] = JSON.parse(r.out.slice(r.out.indexOf('['))) as { filename: string; files: { path: string }[] }[];
    tarball = join(out, info!.filename);
    packed = info!.files;
  }, TIMEOUT);

  afterAll(async () => {
    await cleanupProcesses();
    await t?.close();
  });

  it('the tarball holds the compiled SDK with its declarations, and no TypeScript sources', () => {
    const paths = packed.map((f) => f.path);
    expect(paths).toEqual(expect.arrayContaining(['package.json', 'dist/sdk/index.js', 'dist/sdk/index.d.ts', 'dist/cli/main.js']));
    expect(paths.filter((p) => p.startsWith('src/') || (p.endsWith('.ts') && !p.endsWith('.d.ts')))).toEqual([]);
  });

  it('installs into an empty folder without building and without engine warnings, then type-checks, compiles and runs examples/sdk-trace.ts', async () => {
    // The README's recipe: an ES module package with the cookie override (see README, TypeScript SDK).
    await writeFile(join(app, 'package.json'), JSON.stringify({
      name: 'my-app',
      private: true,
      type: 'module',
      overrides: { 'light-my-request': { cookie: '^1.1.1' } },
    }, null, 2));
    // No TypeScript in the folder yet: if installing needed a build (prepare, tsc), this would fail.
    const install = await npm(['install', tarball], app);
    expect(install.err).not.toMatch(/EBADENGINE/);
    expect(install.err).not.toMatch(/npm (error|ERR!)/);

    await npm(['install', '--save-dev', `typescript@${await version('typescript')}`, `@types/node@${await version('@types/node')}`], app);
    await copyFile(join(ROOT, 'examples', 'sdk-trace.ts'), join(app, 'sdk-trace.ts'));
    await writeFile(join(app, 'type-checks.ts'), TYPE_CHECKS);
    await writeFile(join(app, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        noUncheckedIndexedAccess: true,
        // The package's declarations are checked too, as an application that does not skip them would.
        skipLibCheck: false,
        types: ['node'],
        outDir: 'out',
        // tsc type-checks and, only if everything passes, emits what node runs below.
        noEmitOnError: true,
      },
      include: ['*.ts'],
    }, null, 2));
    const tsc = join(app, 'node_modules', 'typescript', 'bin', 'tsc');
    await run(process.execPath, [tsc, '-p', '.'], app);

    const owner = await signupUser(t.app);
    const { key } = await createKey(t.app, owner.auth, { name: 'app', scopes: ['executions:write', 'executions:read'] });
    await createAgent(t, owner.auth, { name: 'Greeter', slug: 'greeter' });
    const r = await run(process.execPath, [join('out', 'sdk-trace.js')], app, { AGENTBASE_URL: url, AGENTBASE_API_KEY: key });
    for (const re of EXPECTED_OUTPUT['sdk-trace.ts']!) expect(r.out).toMatch(re);
  }, TIMEOUT);
});
