import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSecretColumn, type ExportManifest } from '../../src/ops/index.js';
import { driver } from '../helpers/db.js';
import { cleanupProcesses, tempDir } from '../helpers/processes.js';
import { cli, emptyPlace, expectOk, withService, type Place } from './backup-fixtures.js';
import { seedOrganization, type Seeded } from './backup-seed.js';

/**
 * `agentbase export --org ID`: one organization's rows, found through the
 * catalog, with no other organization's and no secrets.
 */

let place: Place;
let dir: string;
let a: Seeded;
let b: Seeded;

/** Values the seed stored that must never leave in an export (sealed or hashed at rest). */
const PLAINTEXT_SECRETS = ['sk-very-secret-value-0001', 'client-secret-value', 'access-token-value', 'refresh-token-value', 'open sesame'];

/**
 * Columns whose names look sensitive but are not secrets; any other such
 * column must be left out of exports (isSecretColumn). A new column failing
 * here needs a decision: a secret (name it *_hash, *_ciphertext, *secret,
 * *_token) or listed here.
 */
const REVIEWED_NOT_SECRET = new Set([
  'audit_chain_heads.last_hash', // the audit chain's integrity hashes
  'audit_logs.hash',
  'audit_logs.prev_hash',
  'audit_pii.salt', // the salt of the chained digest of the personal data it sits beside (exported with it), not a credential
  'background_jobs.idempotency_key',
  'cost_daily.key',
  'cost_ledger.cache_write_cost_per_token',
  'cost_ledger.cached_cost_per_token',
  'cost_ledger.completion_cost_per_token',
  'cost_ledger.prompt_cost_per_token',
  'cost_ledger.reasoning_cost_per_token',
  'marketplace_listings.stripped_secrets', // the names of secrets stripped from a published config
  'memory_configs.secret_name',
  'query_cache.cache_key', // a cached read's name and parameters
  'plan_shares.failed_password_attempts',
  'plan_shares.failed_password_window_start',
  'user_credentials.password_changed_at',
  'webhook_event_keys.dedupe_key',
  'webhooks.previous_secret_expires_at',
  'workflow_step_runs.step_key',
]);
const LOOKS_SENSITIVE = /(hash|secret|cipher|password|verifier|salt|nonce|otp|credential|token$|_key$|^key$|signature|private)/;

beforeAll(async () => {
  dir = await tempDir('agentbase-export-');
  place = await emptyPlace();
  ({ a, b } = await withService(place, async (app) => ({ a: await seedOrganization(app, 'a'), b: await seedOrganization(app, 'b') })));
}, 180_000);

afterAll(async () => {
  await place?.drop();
  await cleanupProcesses();
});

/** Every row file's text (the manifest names the columns it left out, so it is not scanned for them). */
function allText(folder: string): string {
  return readdirSync(folder)
    .filter((f) => f.endsWith('.jsonl'))
    .map((f) => readFileSync(join(folder, f), 'utf8'))
    .join('\n');
}

describe(`agentbase export (${driver})`, () => {
  it('writes one JSON lines file per table of the organization, with a manifest of counts', async () => {
    const out = join(dir, 'a');
    const r = await cli(['export', '--org', a.owner.orgId, '--out', out], place.env);
    expectOk(r);
    expect(r.out).toMatch(new RegExp(`exported organization ${a.owner.orgId} to .*: \\d+ rows from \\d+ tables`));
    const m = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as ExportManifest;
    expect(m).toMatchObject({ format: 'agentbase-export', orgId: a.owner.orgId });
    const rows = new Map(m.tables.map((t) => [t.name, t.rows]));
    expect(rows.get('organizations')).toBe(1);
    expect(rows.get('users')).toBe(2); // the owner and the member who accepted the invitation
    for (const table of ['memberships', 'agents', 'agent_versions', 'executions', 'spans', 'agent_decisions', 'agent_communications', 'agent_memories', 'plans', 'tasks', 'webhooks', 'workflows', 'audit_logs', 'api_keys', 'secrets']) {
      expect(rows.get(table), table).toBeGreaterThan(0);
    }
    // global tables are not exported; tables are found in the catalog (every table with org_id is there)
    expect(m.skippedTables).toEqual(expect.arrayContaining(['permissions', 'schema_migrations', 'user_credentials', 'mfa_devices', 'platform_admins']));
    expect(m.tables.length).toBeGreaterThan(70);

    for (const t of m.tables) {
      const path = join(out, `${t.name}.jsonl`);
      if (!t.rows) {
        expect(existsSync(path), t.name).toBe(false);
        continue;
      }
      const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
      expect(lines, t.name).toHaveLength(t.rows);
      for (const line of lines) {
        const row = JSON.parse(line) as Record<string, unknown>;
        if ('org_id' in row) expect(row.org_id, t.name).toBe(a.owner.orgId);
        for (const col of Object.keys(row)) expect(isSecretColumn(t.name, col), `${t.name}.${col}`).toBe(false);
      }
    }
  }, 120_000);

  it('holds nothing of the other organization and no secret', async () => {
    const out = join(dir, 'a');
    const text = allText(out);
    expect(text).toContain(a.owner.orgId);
    expect(readFileSync(join(out, 'manifest.json'), 'utf8')).not.toContain(b.owner.orgId);
    for (const other of [b.owner.orgId, b.owner.userId, b.owner.email, b.agentId]) expect(text).not.toContain(other);
    expect(text).not.toContain(a.apiKey);
    expect(text).not.toContain('$argon2');
    for (const s of PLAINTEXT_SECRETS) expect(text).not.toContain(s);
    // as keys anywhere, nested values included
    for (const col of ['key_hash', 'password_hash', 'token_hash', 'ciphertext', 'secret', 'access_token_ciphertext', 'refresh_token_ciphertext', 'share_token_hash'].map((c) => `"${c}":`)) {
      const hit = text.split('\n').find((l) => l.includes(col));
      expect(hit?.slice(Math.max(0, hit.indexOf(col) - 300), hit.indexOf(col) + 200), col).toBeUndefined();
    }
  });

  it('writes one file when the path ends in .jsonl, the manifest last', async () => {
    const out = join(dir, 'b.jsonl');
    expectOk(await cli(['export', '--org', b.owner.orgId, '--out', out, '--json'], place.env));
    const lines = readFileSync(out, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
    const { manifest } = lines.pop() as { manifest: ExportManifest };
    expect(manifest.orgId).toBe(b.owner.orgId);
    const counted = new Map<string, number>();
    for (const l of lines) counted.set(l.table, (counted.get(l.table) ?? 0) + 1);
    for (const t of manifest.tables) expect(counted.get(t.name) ?? 0, t.name).toBe(t.rows);
    const text = readFileSync(out, 'utf8');
    expect(text).not.toContain(a.owner.orgId);
  }, 120_000);

  it('refuses a malformed or unknown organization and an output that exists', async () => {
    const bad = await cli(['export', '--org', 'acme'], place.env);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--org must be an organization id (a UUID)');
    const unknown = await cli(['export', '--org', '0190a4b8-0000-7000-8000-000000000001', '--out', join(dir, 'nobody')], place.env);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('no organization has id 0190a4b8-0000-7000-8000-000000000001');
    const taken = await cli(['export', '--org', a.owner.orgId, '--out', join(dir, 'a')], place.env);
    expect(taken.code).toBe(1);
    expect(taken.err).toContain('exists and is not empty');
  });

  it('classifies every column whose name looks sensitive', async () => {
    const db = await place.open();
    try {
      const r = await db.admin.query<{ t: string; c: string }>(
        `SELECT c.relname AS t, a.attname AS c FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND a.attnum > 0 AND NOT a.attisdropped`,
      );
      const unclassified = r.rows
        .filter((x) => LOOKS_SENSITIVE.test(x.c) && !isSecretColumn(x.t, x.c) && !REVIEWED_NOT_SECRET.has(`${x.t}.${x.c}`))
        .map((x) => `${x.t}.${x.c}`);
      expect(unclassified).toEqual([]);
    } finally {
      await db.close();
    }
  });
});
