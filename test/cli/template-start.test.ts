import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPgliteTemplate, loadMigrations, type Migration } from '../../src/db/index.js';
import { driver } from '../helpers/db.js';
import { cleanupProcesses, PROCESS_TIMEOUT, spawnCli, tempDir, waitForOutput } from '../helpers/processes.js';

/**
 * `agentbase start` on an empty data folder makes it from the prebuilt
 * template (test/db/embedded-open.test.ts covers the template in detail):
 * it says so, is ready at the newest migration, and the next start opens the
 * folder as it is.
 */

afterAll(cleanupProcesses);

let files: Migration[];
let template: string;

beforeAll(async () => {
  files = await loadMigrations();
  template = await tempDir('agentbase-template-');
  await buildPgliteTemplate(template, files);
}, 120_000);

describe.runIf(driver === 'pglite')('start on an empty data folder', () => {
  it(
    'makes the folder from the template, serves at the newest migration, and stops cleanly',
    async () => {
      const dir = await tempDir();
      const env = { PORT: '0', LOG_LEVEL: 'info', AGENTBASE_EMBEDDED_TEMPLATE: template };
      const first = spawnCli(['start'], dir, env);
      const fromTemplate = waitForOutput(first.child, /"migrations":(\d+),"msg":"new data folder made from the prebuilt template"/);
      const [, url] = await waitForOutput(first.child, /listening on (http:\/\/\S+) \(pglite\)/);
      expect(Number((await fromTemplate)[1])).toBe(files.length);
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ status: 'ready', migration: files.at(-1)!.version, database: 'pglite', capabilities: { vectorSearch: true } });
      first.child.kill('SIGTERM');
      expect((await first.done).code).toBe(0);

      const second = spawnCli(['start'], dir, env);
      const [, url2] = await waitForOutput(second.child, /listening on (http:\/\/\S+) \(pglite\)/);
      expect((await fetch(`${url2}/readyz`)).status).toBe(200);
      second.child.kill('SIGTERM');
      const done = await second.done;
      expect(done.code).toBe(0);
      expect(done.out).not.toContain('new data folder');
    },
    PROCESS_TIMEOUT,
  );
});
