import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonValueProblem, scanJsonText } from '../../src/http/json-limits.js';
import { createTestApp, errorOf, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';

/**
 * One limit on depth and size for every free-form JSON field, checked before
 * anything walks the value (a few thousand levels once overflowed the stack:
 * a 500), answered 400 json_too_deep or 413 payload_too_large naming the field,
 * with nothing written.
 */

let t: TestApp;
let owner: SignedUp;
beforeAll(async () => {
  t = await createTestApp();
  owner = await signupUser(t.app);
});
afterAll(async () => t?.close());

const nested = (levels: number, leaf: unknown = 1): unknown => {
  let v = leaf;
  for (let i = 0; i < levels; i++) v = { a: v };
  return v;
};
/** Text of a value nested `levels` deep, built as text (JSON.stringify itself would overflow). */
const nestedText = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;

async function orgVersion(): Promise<number> {
  return (await t.app.inject({ method: 'GET', url: '/v1/org', headers: owner.auth })).json().version;
}

const patchOrg = (payload: string) =>
  t.app.inject({ method: 'PATCH', url: '/v1/org', headers: { ...owner.auth, 'content-type': 'application/json' }, payload });

describe('PATCH /v1/org settings', () => {
  it('nested a few thousand levels: 400 json_too_deep naming body.settings, nothing changed', async () => {
    const version = await orgVersion();
    const res = await patchOrg(`{"version":${version},"settings":${nestedText(5000)}}`);
    expect(res.statusCode, res.body).toBe(400);
    const e = errorOf(res);
    expect(e.code).toBe('json_too_deep');
    expect(e.message).toMatch(/^body\.settings\.a\.a/);
    expect(e.details).toMatchObject({ field: 'body.settings' });
    expect(await orgVersion()).toBe(version);
  });

  it('nested 33 levels (past the field limit of 32, within the body limit): 400 json_too_deep naming the field', async () => {
    const version = await orgVersion();
    const res = await patchOrg(JSON.stringify({ version, settings: nested(32) }));
    expect(res.statusCode, res.body).toBe(400);
    const e = errorOf(res);
    expect(e.code).toBe('json_too_deep');
    expect(e.message).toContain('body.settings: is nested deeper than 32 levels');
    expect(await orgVersion()).toBe(version);
  });

  it('nested exactly 32 levels is accepted', async () => {
    const version = await orgVersion();
    const res = await patchOrg(JSON.stringify({ version, settings: nested(31) }));
    expect(res.statusCode, res.body).toBe(200);
  });

  it('larger than 64 KiB: 413 payload_too_large naming the field', async () => {
    const version = await orgVersion();
    const res = await patchOrg(JSON.stringify({ version, settings: { blob: 'x'.repeat(70_000) } }));
    expect(res.statusCode, res.body).toBe(413);
    const e = errorOf(res);
    expect(e.code).toBe('payload_too_large');
    expect(e.message).toBe('body.settings: is larger than 64 KiB as JSON');
    expect(await orgVersion()).toBe(version);
  });
});

describe('every JSON body', () => {
  it('is refused past 64 levels before it is parsed, on any route, naming where', async () => {
    const res = await t.app.inject({
      method: 'POST', url: '/v1/agents', headers: { ...owner.auth, 'content-type': 'application/json' },
      payload: `{"name":"x","metadata":{"list":[${nestedText(100)}]}}`,
    });
    expect(res.statusCode, res.body).toBe(400);
    expect(errorOf(res).message).toMatch(/^body\.metadata\.list\[0\]\.a\.a/);
  });

  it('that is compressed is refused with 415 (only the OTLP route decompresses)', async () => {
    const res = await t.app.inject({
      method: 'POST', url: '/v1/agents', headers: { ...owner.auth, 'content-type': 'application/json', 'content-encoding': 'gzip' },
      payload: '{"name":"x"}',
    });
    expect(res.statusCode).toBe(415);
    expect(errorOf(res).code).toBe('unsupported_media_type');
  });
});

describe('ingested items', () => {
  it('an item whose attributes nest too deep is rejected alone with json_too_deep; the rest land', async () => {
    const agent = (await t.app.inject({ method: 'POST', url: '/v1/agents', headers: owner.auth, payload: { name: 'Deep' } })).json();
    const startedAt = new Date().toISOString();
    const res = await t.app.inject({
      method: 'POST', url: '/v1/ingest/batch', headers: owner.auth,
      payload: {
        executions: [{ clientId: 'deep-e', agentId: agent.id }],
        spans: [
          { clientId: 'deep-ok', executionClientId: 'deep-e', kind: 'other', name: 'ok', startedAt },
          { clientId: 'deep-bad', executionClientId: 'deep-e', kind: 'other', name: 'bad', startedAt, attributes: nested(40) },
          { clientId: 'big-bad', executionClientId: 'deep-e', kind: 'other', name: 'big', startedAt, metadata: undefined, attributes: { a: 'x'.repeat(1_100_000) } },
        ],
      },
    });
    expect(res.statusCode, res.body).toBe(200);
    const results = res.json().results as { clientId: string; status: string; code?: string; error?: string }[];
    expect(results.find((r) => r.clientId === 'deep-ok')!.status).toBe('accepted');
    expect(results.find((r) => r.clientId === 'deep-bad')).toMatchObject({ status: 'rejected', code: 'json_too_deep' });
    expect(results.find((r) => r.clientId === 'deep-bad')!.error).toContain('attributes: is nested deeper than 32 levels');
    expect(results.find((r) => r.clientId === 'big-bad')).toMatchObject({ status: 'rejected', code: 'payload_too_large' });
  });
});

describe('the checks themselves', () => {
  it('walk a million levels without recursion', () => {
    const text = `${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`;
    expect(scanJsonText(text, 64)!.path).toHaveLength(64);
    const deep = JSON.parse(text) as unknown;
    expect(jsonValueProblem(deep, { maxDepth: 32, maxBytes: 1e9 })).toMatchObject({ code: 'json_too_deep' });
  });

  it('ignore brackets inside strings, escaped quotes included', () => {
    expect(scanJsonText(JSON.stringify({ a: '[[[[[[[[[[\\"{{{{{{{{' }), 3)).toBeNull();
  });
});
