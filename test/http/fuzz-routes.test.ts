import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/errors.js';
import { deriveKeys } from '../../src/identity/index.js';
import { OPS_METRICS_TABLES } from '../../src/ops/index.js';
import { createTestApp, signupUser, TEST_SECRET, type SignedUp, type TestApp } from '../helpers/app.js';

/**
 * Every route of the served OpenAPI document, sent generated bad input
 * (wrong types, missing and unknown fields, huge strings and numbers, deep
 * JSON, bad UUIDs and dates, malformed bodies, wrong content types, bad
 * credentials), with a fixed seed and a bounded count. For every answer: no
 * 5xx; a 4xx is in the one error shape with a code from the vocabulary; and a
 * rejected write left every table as it was. Routes come from the document,
 * so a new route is covered without editing this file.
 */

const RUNS = Number(process.env.FUZZ_RUNS ?? 25);
const SEED = Number(process.env.FUZZ_SEED ?? 20261206);

/**
 * Tables a refused request may legitimately write: the per-second ingest
 * bucket counts what was sent, accepted or not (documented in the README).
 */
const WRITES_ALLOWED_WHEN_REFUSED = new Set(['ingest_rate_buckets']);

let t: TestApp;
let owner: SignedUp;
let doc: OpenApi;
let fingerprintSql: string;
let badClaimsToken: string;

interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  enum?: unknown[];
  format?: string;
}
interface Operation {
  parameters?: { in: 'path' | 'query' | 'header'; name: string; schema?: Schema; required?: boolean }[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
}
interface OpenApi {
  paths: Record<string, Record<string, Operation>>;
}

beforeAll(async () => {
  t = await createTestApp();
  owner = await signupUser(t.app);
  doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
  // Every table that holds rows (partitions included): its row count and newest row version.
  const tables = await t.db.admin.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname <> 'schema_migrations' ORDER BY 1`,
  );
  // Not what a request wrote: the service's own measurements (src/ops: a sampled row per request, 4xx
  // included), and the query cache's fills and hit counts (a read through the cache stores its answer,
  // and hit counts are written behind, about once a second, possibly during a later request).
  const CACHE_FILLS = ['query_cache', 'query_cache_stats'];
  const measuring = (name: string) => CACHE_FILLS.includes(name) || OPS_METRICS_TABLES.some((m) => name === m || name.startsWith(`${m}_`));
  fingerprintSql = tables.rows
    .filter((r) => !measuring(r.name))
    .map((r) => `SELECT '${r.name}' AS t, count(*)::int AS n, coalesce(max(xmin::text::bigint), 0)::text AS x FROM "${r.name}"`)
    .join(' UNION ALL ');
  // Signed with the right key, with an organization claim that is not a UUID.
  badClaimsToken = await new SignJWT({ org: 'x', sid: randomUUID() })
    .setProtectedHeader({ alg: 'HS256' }).setSubject(owner.userId).setIssuer('agentbase').setExpirationTime('1h')
    .sign(deriveKeys(TEST_SECRET).accessToken);
});
afterAll(async () => t?.close());

async function fingerprint(): Promise<Map<string, string>> {
  const r = await t.db.admin.query<{ t: string; n: number; x: string }>(fingerprintSql);
  return new Map(r.rows.map((x) => [x.t, `${x.n}/${x.x}`]));
}

function changedTables(before: Map<string, string>, after: Map<string, string>): string[] {
  return [...after.keys()].filter((k) => before.get(k) !== after.get(k) && !WRITES_ALLOWED_WHEN_REFUSED.has(k));
}

// ------------------------------------------------------------------ generators

const deepValue = (levels: number): unknown => {
  let v: unknown = 'leaf';
  for (let i = 0; i < levels; i++) v = i % 2 ? [v] : { d: v };
  return v;
};

const nastyString = fc.oneof(
  fc.constantFrom(
    '', ' ', 'x'.repeat(70_000), '\u0000', 'a\u0000b', '\ud800', '😀'.repeat(500), '../../etc/passwd', "' OR 1=1 --",
    '%00', '<script>', 'null', 'true', '-1', '1e309', 'NaN', 'Infinity', '2026-02-30T00:00:00Z', '99999-12-31T00:00:00Z',
    '0000-01-01T00:00:00Z', '-infinity', 'ffffffff-ffff-7fff-bfff-ffffffffffff', '00000000-0000-0000-0000-000000000000',
    'FFFFFFFF-FFFF-4FFF-BFFF-FFFFFFFFFFFF', '*', 'a:b', 'zzzz', '1.0.0', '999999999999.0.0',
  ),
  fc.string({ maxLength: 40 }),
  fc.uuid().map((u) => u),
  fc.constant(randomUUID()),
);
const nastyNumber = fc.oneof(
  fc.constantFrom(0, -1, 1.5, 1e308, -1e308, 2 ** 53 + 2, 2 ** 63, 1e-300, 2_147_483_648, -2_147_483_649, 999_999_999_999),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);
const nastyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: nastyString },
  { weight: 3, arbitrary: nastyNumber },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.constantFrom([], {}, [1, 'a', null], { a: { b: 'c' } }, Array.from({ length: 2000 }, (_, i) => i)) },
  { weight: 1, arbitrary: fc.constantFrom(deepValue(40), deepValue(33), deepValue(60)) },
  { weight: 1, arbitrary: fc.constant(Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`k${i}`, i]))) },
);

/** A value that plausibly passes the field's schema, so requests also reach past validation. */
function plausible(s: Schema | undefined): fc.Arbitrary<unknown> {
  const type = Array.isArray(s?.type) ? s!.type[0] : s?.type;
  if (s?.enum?.length) return fc.constantFrom(...s.enum);
  if (s?.anyOf?.length) return plausible(s.anyOf[0]);
  switch (type) {
    case 'string':
      if (s?.format === 'uuid') return fc.constant(randomUUID());
      if (s?.format === 'date-time') return fc.constant(new Date().toISOString());
      if (s?.format === 'email') return fc.constant(`fuzz-${randomUUID()}@example.com`);
      return fc.constantFrom('fuzz', 'fuzz-value-1', 'x');
    case 'integer':
    case 'number':
      return fc.constantFrom(1, 0, 10);
    case 'boolean':
      return fc.boolean();
    case 'array':
      return fc.constant([]);
    case 'object':
      return fc.constant({});
    default:
      return fc.constant('fuzz');
  }
}

function propertiesOf(s: Schema | undefined): Record<string, Schema> {
  if (!s) return {};
  const parts = [s, ...(s.anyOf ?? []), ...(s.oneOf ?? []), ...(s.allOf ?? [])];
  return Object.assign({}, ...parts.map((p) => p.properties ?? {}));
}

// Fields of ingested items (the batch schema leaves its items open: each is validated alone).
const ITEM_KEYS = [
  'clientId', 'executionClientId', 'agentId', 'agentSlug', 'agentVersionId', 'userId', 'parentExecutionId', 'kind', 'name',
  'startedAt', 'endedAt', 'createdAt', 'status', 'model', 'promptTokens', 'attributes', 'input', 'output', 'metadata',
  'decidedAt', 'decisionType', 'reasoningChain', 'confidence', 'messageType', 'messageData', 'sentAt', 'fromAgentId', 'toAgentId',
];

function objectFor(props: Record<string, Schema>): fc.Arbitrary<Record<string, unknown>> {
  const keys = Object.keys(props);
  const entry = (k: string) => fc.oneof({ weight: 2, arbitrary: nastyValue }, { weight: 1, arbitrary: plausible(props[k]) });
  // Open item lists (ingestion validates each item alone): filled with items of likely fields.
  const itemLists = keys.filter((k) => props[k]?.type === 'array' && props[k]?.items && !Object.keys(props[k]!.items!).length);
  return fc.record({
    picked: fc.subarray(keys),
    unknown: fc.option(fc.constantFrom('unknownField', '__proto__', 'constructor'), { nil: undefined }),
    items: fc.option(fc.array(fc.dictionary(fc.constantFrom(...ITEM_KEYS), nastyValue, { maxKeys: 8 }), { maxLength: 3 }), { nil: undefined }),
  }).chain(({ picked, unknown, items }) =>
    fc.tuple(...picked.map((k) => entry(k).map((v) => [k, v] as const))).map((pairs) => {
      const o: Record<string, unknown> = Object.fromEntries(pairs);
      if (items) for (const k of itemLists) o[k] = items;
      if (unknown) o[unknown] = 1;
      return o;
    }),
  );
}

interface Body {
  contentType: string | undefined;
  payload: string | undefined;
}

function bodyFor(op: Operation): fc.Arbitrary<Body> {
  const schema = op.requestBody?.content?.['application/json']?.schema;
  const json = (a: fc.Arbitrary<unknown>) => a.map((v) => ({ contentType: 'application/json', payload: JSON.stringify(v) }));
  return fc.oneof(
    { weight: 6, arbitrary: json(objectFor(propertiesOf(schema))) },
    { weight: 1, arbitrary: json(nastyValue) },
    {
      weight: 2,
      arbitrary: fc.record({
        contentType: fc.constantFrom('application/json', 'application/json; charset=utf-16', 'text/plain', 'application/xml',
          'application/x-www-form-urlencoded', 'multipart/form-data', 'application/x-protobuf', ';;;'),
        payload: fc.constantFrom('{', '{"a":', '[1,2', 'nul', '', '{"a":1}{', `{"x":${'['.repeat(5000)}${']'.repeat(5000)}}`,
          `{"n":1${'0'.repeat(400)}}`, '{"__proto__":{"admin":true}}', '"\\ud800"', '\u0000', 'a=1&b=2', '<x/>', '{}'),
      }),
    },
    { weight: 1, arbitrary: fc.constant({ contentType: undefined, payload: undefined }) },
  );
}

const pathValue = fc.oneof(
  { weight: 3, arbitrary: fc.uuid() },
  { weight: 2, arbitrary: fc.constantFrom('ffffffff-ffff-7fff-bfff-ffffffffffff', '00000000-0000-7000-8000-000000000000', 'not-a-uuid',
    'x'.repeat(150), '%00', '%E0%A4%A', '..', 'a%2Fb', '1.0.0', '999.999.999', 'latest', '0', '-1') },
  { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 20 }).map(encodeURIComponent) },
);

function queryFor(op: Operation): fc.Arbitrary<string> {
  const names = (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
  return fc.record({
    picked: fc.subarray([...names, 'unknownParam']),
    values: fc.array(fc.oneof(nastyString, nastyNumber.map(String), fc.constantFrom('2026-01-01', 'day', 'model', '100', '0')), {
      minLength: names.length + 1, maxLength: names.length + 1,
    }),
    repeat: fc.boolean(),
  }).map(({ picked, values, repeat }) => {
    const q = new URLSearchParams();
    picked.forEach((name, i) => {
      q.append(name, String(values[i]).slice(0, 2000));
      if (repeat && i === 0) q.append(name, 'again');
    });
    const s = q.toString();
    return s ? `?${s}` : '';
  });
}

type AuthKind = 'owner' | 'none' | 'garbage' | 'bad_claims';
const authFor = fc.constantFrom<AuthKind>('owner', 'owner', 'owner', 'owner', 'owner', 'owner', 'none', 'garbage', 'bad_claims');

// ------------------------------------------------------------------ the walk

function operations(): [string, string, Operation][] {
  const out: [string, string, Operation][] = [];
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) out.push([method.toUpperCase(), path, op]);
  }
  return out;
}

const ERROR_CODE_SET = new Set<string>(ERROR_CODES);

describe('generated bad input on every route of the OpenAPI document', () => {
  it('covers the whole document', () => {
    expect(operations().length).toBeGreaterThan(100);
  });

  it('never answers 5xx; every 4xx is in the error shape; a refused write changes no table', async () => {
    const failures: string[] = [];
    let last = await fingerprint();
    let requests = 0;
    for (const [method, path, op] of operations()) {
      // Logging out ends the session every other request uses: that route gets a session of its own.
      const isLogout = path === '/v1/auth/logout';
      const pathParams = (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name);
      const arb = fc.record({
        params: fc.array(pathValue, { minLength: pathParams.length, maxLength: pathParams.length }),
        query: queryFor(op),
        body: ['GET', 'DELETE'].includes(method) ? fc.constant<Body>({ contentType: undefined, payload: undefined }) : bodyFor(op),
        auth: authFor,
      });
      await fc.assert(
        fc.asyncProperty(arb, async ({ params, query, body, auth }) => {
          let url = path;
          pathParams.forEach((name, i) => (url = url.replace(`{${name}}`, params[i]!)));
          url += query;
          const headers: Record<string, string> = {};
          let token = owner.accessToken;
          if (isLogout && auth === 'owner') {
            token = (await signupUser(t.app)).accessToken;
            last = await fingerprint(); // the signup is this test's write, not the request's
          }
          if (auth === 'owner') headers.authorization = `Bearer ${token}`;
          if (auth === 'garbage') headers.authorization = 'Bearer ab_0123456789012345678901234567890123456789';
          if (auth === 'bad_claims') headers.authorization = `Bearer ${badClaimsToken}`;
          if (body.contentType) headers['content-type'] = body.contentType;
          const res = await t.app.inject({ method: method as 'GET', url, headers, ...(body.payload === undefined ? {} : { payload: body.payload }) });
          requests += 1;
          const what = `${method} ${url.slice(0, 200)} [${auth}, ${body.contentType ?? 'no body'}: ${(body.payload ?? '').slice(0, 300)}]`;
          if (res.statusCode >= 500) {
            failures.push(`${res.statusCode} for ${what}: ${res.body.slice(0, 300)}`);
            return;
          }
          const after = method === 'GET' ? last : await fingerprint();
          if (res.statusCode >= 400) {
            const e = (JSON.parse(res.body || '{}') as { error?: { code?: unknown; message?: unknown; requestId?: unknown } }).error;
            if (!e || typeof e.message !== 'string' || typeof e.code !== 'string' || !ERROR_CODE_SET.has(e.code) || e.requestId !== res.headers['x-request-id']) {
              failures.push(`${res.statusCode} not in the error shape for ${what}: ${res.body.slice(0, 300)}`);
            }
            const changed = changedTables(last, after);
            if (changed.length) failures.push(`${res.statusCode} ${String(e?.code)} but wrote ${changed.join(', ')} for ${what}`);
          }
          last = after;
        }),
        { seed: SEED, numRuns: RUNS, endOnFailure: true },
      );
    }
    expect(failures, failures.slice(0, 20).join('\n')).toEqual([]);
    expect(requests).toBeGreaterThanOrEqual(operations().length * RUNS);
  // Minutes on server PostgreSQL: every refused write is followed by a row count of every table. Generous,
  // since a loaded CI machine runs three projects; a timeout here is not a finding.
  }, 1_500_000);
});
