import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimJobs, enqueue, failJob } from '../../src/jobs/index.js';
import { createTestApp, errorOf, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';
import { bearer, createKey, type Auth } from '../helpers/identity.js';

let t: TestApp;
let a: SignedUp;
let b: SignedUp;
let readOnly: Auth;
const ids: Record<string, string> = {};

beforeAll(async () => {
  t = await createTestApp();
  a = await signupUser(t.app);
  b = await signupUser(t.app);
  readOnly = bearer((await createKey(t.app, a.auth, { name: 'ro', scopes: ['jobs:read'] })).key);
  const deps = { db: t.db };
  for (const [name, queue] of [['j1', 'mail'], ['j2', 'mail'], ['j3', 'reports'], ['j4', 'mail'], ['dead', 'doomed'], ['running', 'busy']]) {
    ids[name!] = (await enqueue(deps, a.orgId, { queue: queue!, task: 'send', payload: { name } })).job.id;
  }
  ids.b1 = (await enqueue(deps, b.orgId, { queue: 'mail', task: 'send' })).job.id;
  const [dead] = await claimJobs(t.db, 'w', ['doomed'], 1, 60_000);
  await failJob(t.db, 'w', dead!, 'gave up', false, 0);
  await claimJobs(t.db, 'w', ['busy'], 1, 60_000);
});
afterAll(async () => t?.close());

const get = (url: string, auth: Auth = a.auth) => t.app.inject({ method: 'GET', url, headers: auth });
const post = (url: string, auth: Auth = a.auth) => t.app.inject({ method: 'POST', url, headers: auth });
const names = (data: { payload: { name?: string } }[]) => data.map((j) => j.payload.name ?? '?');

describe('GET /v1/jobs', () => {
  it('lists the organization\'s jobs newest first, with status and queue filters', async () => {
    const all = await get('/v1/jobs');
    expect(all.statusCode, all.body).toBe(200);
    expect(names(all.json().data)).toEqual(['running', 'dead', 'j4', 'j3', 'j2', 'j1']);
    expect(names((await get('/v1/jobs?queue=mail')).json().data)).toEqual(['j4', 'j2', 'j1']);
    expect(names((await get('/v1/jobs?status=dead')).json().data)).toEqual(['dead']);
    expect(names((await get('/v1/jobs?status=queued&queue=reports')).json().data)).toEqual(['j3']);
    expect((await get('/v1/jobs', b.auth)).json().data.map((j: { id: string }) => j.id)).toEqual([ids.b1]);
  });

  it('pages with the cursor', async () => {
    const seen: string[] = [];
    let url = '/v1/jobs?limit=4';
    for (;;) {
      const res = await get(url);
      expect(res.statusCode).toBe(200);
      const body = res.json();
      seen.push(...names(body.data));
      if (!body.nextCursor) break;
      url = `/v1/jobs?limit=4&cursor=${body.nextCursor}`;
    }
    expect(seen).toEqual(['running', 'dead', 'j4', 'j3', 'j2', 'j1']);
  });

  it.each(['status=nope', 'queue=Not%20A%20Queue', 'limit=0', 'limit=101', 'cursor=garbage', 'unknown=1'])('400 for ?%s', async (qs) => {
    const res = await get(`/v1/jobs?${qs}`);
    expect(res.statusCode, res.body).toBe(400);
    expect(errorOf(res).code).toMatch(/bad_request|validation_failed/);
  });

  it('401 without a token', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/v1/jobs' })).statusCode).toBe(401);
  });
});

describe('GET /v1/jobs/depth', () => {
  it("counts this organization's unfinished jobs by queue and task, ready first, with the oldest ready job's wait", async () => {
    const res = await get('/v1/jobs/depth', readOnly);
    expect(res.statusCode, res.body).toBe(200);
    const rows = res.json().data as { queue: string; task: string; ready: number; scheduled: number; running: number; oldestReadySeconds: number | null }[];
    // organization b's queued mail job is not counted; the dead job is finished
    expect(rows.map(({ oldestReadySeconds: _, ...r }) => r)).toEqual([
      { queue: 'mail', task: 'send', ready: 3, scheduled: 0, running: 0 },
      { queue: 'reports', task: 'send', ready: 1, scheduled: 0, running: 0 },
      { queue: 'busy', task: 'send', ready: 0, scheduled: 0, running: 1 },
    ]);
    expect(rows[0]!.oldestReadySeconds).toBeGreaterThanOrEqual(0);
    expect(rows[2]!.oldestReadySeconds).toBeNull();
    expect((await get('/v1/jobs/depth', b.auth)).json().data).toEqual([
      expect.objectContaining({ queue: 'mail', ready: 1 }),
    ]);
  });

  it('400 for a query parameter; 401 without a token', async () => {
    const bad = await get('/v1/jobs/depth?queue=mail');
    expect(bad.statusCode).toBe(400);
    expect(errorOf(bad).code).toBe('validation_failed');
    expect((await t.app.inject({ method: 'GET', url: '/v1/jobs/depth' })).statusCode).toBe(401);
  });
});

describe('GET /v1/jobs/:id', () => {
  it('returns the job with its status, attempts and last error', async () => {
    const res = await get(`/v1/jobs/${ids.dead}`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: ids.dead, status: 'dead', attempts: 1, lastError: 'gave up', queue: 'doomed', task: 'send' });
  });

  it('400 for a malformed id; 404 for an unknown one and for another organization\'s', async () => {
    expect((await get('/v1/jobs/not-a-uuid')).statusCode).toBe(400);
    expect(errorOf(await get(`/v1/jobs/${randomUUID()}`)).code).toBe('not_found');
    const foreign = await get(`/v1/jobs/${ids.b1}`);
    expect(foreign.statusCode).toBe(404);
    expect(errorOf(foreign).code).toBe('not_found');
  });
});

describe('POST /v1/jobs/:id/cancel', () => {
  it('cancels a queued job once; a second cancel is a 409 naming its status', async () => {
    const res = await post(`/v1/jobs/${ids.j1}/cancel`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ status: 'cancelled' });
    expect(res.json().finishedAt).not.toBeNull();
    const again = await post(`/v1/jobs/${ids.j1}/cancel`);
    expect(again.statusCode).toBe(409);
    expect(errorOf(again)).toMatchObject({ code: 'conflict', details: { status: 'cancelled' } });
  });

  it('refuses a running job (409) and another organization\'s (404, unchanged)', async () => {
    expect(errorOf(await post(`/v1/jobs/${ids.running}/cancel`)).details).toEqual({ status: 'running' });
    expect((await post(`/v1/jobs/${ids.b1}/cancel`)).statusCode).toBe(404);
    expect((await get(`/v1/jobs/${ids.b1}`, b.auth)).json().status).toBe('queued');
    expect((await post('/v1/jobs/nope/cancel')).statusCode).toBe(400);
  });

  it('needs jobs:write (403 for a read-only key) and is audited', async () => {
    const res = await post(`/v1/jobs/${ids.j2}/cancel`, readOnly);
    expect(res.statusCode).toBe(403);
    expect(errorOf(res)).toMatchObject({ code: 'forbidden', details: { permission: 'jobs:write' } });
    const audit = await t.db.admin.query<{ action: string }>(`SELECT action FROM audit_logs WHERE resource_id = $1`, [ids.j1]);
    expect(audit.rows.map((r) => r.action)).toEqual(['job.cancel']);
  });
});

describe('POST /v1/jobs/:id/redrive', () => {
  it('queues a dead job again with its attempts reset', async () => {
    const res = await post(`/v1/jobs/${ids.dead}/redrive`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ status: 'queued', attempts: 0, finishedAt: null, lastError: 'gave up' });
    const [again] = await claimJobs(t.db, 'w2', ['doomed'], 1, 60_000);
    expect(again).toMatchObject({ id: ids.dead, attempts: 1 });
  });

  it('409 for a job that is not dead; 404 for another organization\'s', async () => {
    const res = await post(`/v1/jobs/${ids.j3}/redrive`);
    expect(res.statusCode).toBe(409);
    expect(errorOf(res).details).toEqual({ status: 'queued' });
    expect((await post(`/v1/jobs/${ids.b1}/redrive`)).statusCode).toBe(404);
    expect((await post(`/v1/jobs/${ids.dead}/redrive`, readOnly)).statusCode).toBe(403);
  });
});
