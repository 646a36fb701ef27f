import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupProcesses, tempDir } from '../helpers/processes.js';
import { driver } from '../helpers/db.js';
import { cli, emptyPlace, expectOk, fingerprintOf, withService, type Place } from './backup-fixtures.js';
import { seedMarketplace, seedOrganization, type Seeded } from './backup-seed.js';

/**
 * The whole trip on this project's driver: a database filled through the
 * real API (two organizations), `agentbase backup`, `agentbase restore` into a
 * new empty database (a new data folder, or a new database on the same
 * server), and every table compared, row count and content, by a digest
 * computed here rather than by the code under test.
 */

/** Tables the API cannot fill without outside parties or time passing; listed so a new empty table is noticed. */
const EXPECTED_EMPTY = new Set<string>([
  'invoices', // made by billing's period close (maintenance), not by a request
  'invoice_lines',
  'mfa_recovery_codes', // needs a confirmed TOTP device (a code from the authenticator)
  'notifications', // made when a webhook endpoint is disabled after days of failures
  'usage_records', // usage metering of runs through the runtime (an LLM call)
  'webhook_deliveries', // a delivery attempt: a worker and a receiver
  'webhook_event_keys', // dedupe keys of events emitted with one
  'connection_pool_stats', // sampled by a running server's timer (every 60 s), not by a request
  'system_metrics', // the same
  'error_logs', // a 5xx: none is expected from the seed
]);
const MIN_TABLES_WITH_ROWS = 80;

let source: Place;
let target: Place;
let dir: string;
let a: Seeded;
let b: Seeded;
let file: string;
let marketFailures: string[];

beforeAll(async () => {
  dir = await tempDir('agentbase-backup-');
  file = join(dir, 'agentbase.backup');
  source = await emptyPlace();
  target = await emptyPlace();
  ({ a, b } = await withService(source, async (app) => ({ a: await seedOrganization(app, 'a'), b: await seedOrganization(app, 'b') })));
  // platform_admins and platform_audit, through the CLI as an operator would
  expectOk(await cli(['admin', 'grant', a.owner.email, '--note', 'backup test', '--by', 'ops'], source.env));
  // matview_refreshes and the views' rows, as the scheduled refresh would leave them
  expectOk(await cli(['matviews', '--refresh'], source.env));
  marketFailures = await withService(source, (app) => seedMarketplace(app, a, b));
}, 180_000);

afterAll(async () => {
  await source?.drop();
  await target?.drop();
  await cleanupProcesses();
});

describe(`backup and restore (${driver})`, () => {
  it('seeds every step through the API', () => {
    expect([...a.failures, ...b.failures, ...marketFailures]).toEqual([]);
  });

  it('backs up, restores into an empty database, and every table matches', async () => {
    const backup = await cli(['backup', file, '--json'], source.env);
    expectOk(backup);
    const report = JSON.parse(backup.out);
    expect(report).toMatchObject({ file, mode: driver === 'pglite' ? 'embedded' : 'server' });

    const restore = await cli(['restore', file], target.env);
    expectOk(restore);
    expect(restore.out).toContain("every table's row count and checksum and the migrations match the manifest");
    expect(restore.out).toMatch(/audit chains intact \(\d+ organizations\)/);

    const before = await fingerprintOf(source);
    const after = await fingerprintOf(target);
    expect([...after.keys()]).toEqual([...before.keys()]);
    for (const [name, f] of before) expect(after.get(name), name).toEqual(f);

    const empty = [...before].filter(([, f]) => f.rows === 0).map(([n]) => n);
    const filled = before.size - empty.length;
    console.log(`round trip (${driver}): ${filled} of ${before.size} tables have rows; empty: ${empty.join(', ') || 'none'}`);
    expect(filled).toBeGreaterThanOrEqual(MIN_TABLES_WITH_ROWS);
    expect(empty.filter((n) => !EXPECTED_EMPTY.has(n))).toEqual([]);

    const verify = await cli(['audit', 'verify'], target.env);
    expectOk(verify);
    expect(verify.out).toContain(a.owner.orgId);
    expect(verify.out).toContain(b.owner.orgId);
  }, 240_000);

  it('refuses to restore into a database that holds data unless --force, then replaces it', async () => {
    const again = await cli(['restore', file], target.env);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/is not empty \(\d+ migrations applied, rows in .*\): restore into an empty database, or pass --force/);

    const forced = await cli(['restore', file, '--force'], target.env);
    expectOk(forced);
    expect(forced.out).toContain('match the manifest');
    if (driver === 'pglite') expect(forced.out).toMatch(/the data folder it replaced is kept at .*pgdata\.replaced-/);
    const before = await fingerprintOf(source);
    const after = await fingerprintOf(target);
    for (const [name, f] of before) expect(after.get(name), name).toEqual(f);
  }, 240_000);

  it('never overwrites an existing file', async () => {
    const r = await cli(['backup', file], source.env);
    expect(r.code).toBe(1);
    expect(r.err).toContain('exists: choose another file name');
  });
});
