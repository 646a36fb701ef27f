import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveKeys } from '../../src/identity/index.js';
import { Worker } from '../../src/jobs/index.js';
import { AGENT_RUN_TASK, agentRunHandler, createRuntime } from '../../src/runtime/index.js';
import { errorOf, TEST_SECRET, type SignedUp } from '../helpers/app.js';
import { call, ok, parseSse, rowCounts, runtimeApp, scriptedAgent, type Body, type RuntimeTest } from './run-fixtures.js';

/**
 * POST /v1/agents/{idOrSlug}/runs (and its older name /executions): an agent
 * created active in one call runs by its slug at once, and a run's metadata,
 * tags, plan and session land on its execution; the runs it calls inherit
 * the plan, the tags and the session, not the metadata.
 */

let rt: RuntimeTest;
let owner: SignedUp;

beforeAll(async () => {
  rt = await runtimeApp();
  owner = rt.owner;
});
afterAll(async () => rt?.close());

const run = (ref: string, body: Record<string, unknown>, path = 'runs') => call(rt.t, 'POST', `/v1/agents/${ref}/${path}`, owner.auth, body);
const answer = (content: string) => [{ content, usage: { promptTokens: 10, completionTokens: 2 } }];

describe('one call to create, one to run', () => {
  it('an agent created active runs by its slug right away', async () => {
    rt.scripts.write('greeter', answer('Hi there'));
    const agent = ok(await call(rt.t, 'POST', '/v1/agents', owner.auth, {
      name: 'Greeter', systemPrompt: 'Greet.', model: 'gpt-4o-mini', modelSettings: { provider: 'scripted', script: 'greeter' }, status: 'active',
    }), 201);
    expect(agent).toMatchObject({ slug: 'greeter', status: 'active', currentVersion: '1.0.0' });
    const e = ok(await run('greeter', { input: 'Hello' }));
    expect(e).toMatchObject({ agentId: agent.id, agentVersionId: agent.currentVersionId, status: 'completed', output: { content: 'Hi there' } });
  });
});

/** A plan of the owner's organization: a run names a live plan (another organization's reads as missing). */
async function newPlan(): Promise<string> {
  return ok(await call(rt.t, 'POST', '/v1/plans', owner.auth, { kind: 'generic', title: 'A plan' }), 201).id;
}

describe('a run by slug with metadata, tags and a plan', () => {
  it('refuses a plan that does not exist (or is another organization\'s) with 400, before anything is written', async () => {
    rt.scripts.write('planless', answer('never'));
    const agent = await scriptedAgent(rt.t, owner.auth, 'planless');
    const before = (await rt.t.db.admin.query<{ n: number }>('SELECT count(*)::int AS n FROM executions')).rows[0]!.n;
    for (const mode of ['sync', 'async']) {
      const res = await run(agent.slug, { input: 'Go', planId: randomUUID(), mode });
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json().error.message).toMatch(/planId: no plan/);
    }
    expect((await rt.t.db.admin.query<{ n: number }>('SELECT count(*)::int AS n FROM executions')).rows[0]!.n).toBe(before);
  });

  it('records them on the execution, where the list filters find them', async () => {
    rt.scripts.write('labelled', answer('Labelled'));
    const agent = await scriptedAgent(rt.t, owner.auth, 'labelled');
    const planId = await newPlan();
    const tag = `checkout-${randomUUID().slice(0, 8)}`;
    const e = ok(await run(agent.slug, {
      input: 'Go', tags: [tag, 'beta', tag], metadata: { customer: 'acme', attempt: 2 }, planId, sessionToken: 'conv-labelled',
    }));
    expect(e).toMatchObject({ agentId: agent.id, status: 'completed', planId, tags: [tag, 'beta'] });
    expect(e.metadata).toMatchObject({ customer: 'acme', attempt: 2, runtime: { mode: 'sync', depth: 0, version: '1.0.0' } });
    expect(e.sessionId).toEqual(expect.any(String));

    const read = ok(await call(rt.t, 'GET', `/v1/executions/${e.id}`, owner.auth));
    expect(read).toMatchObject({ id: e.id, planId, tags: [tag, 'beta'], metadata: { customer: 'acme', attempt: 2 }, sessionId: e.sessionId });
    const byTag = ok(await call(rt.t, 'GET', `/v1/executions?tag=${tag}`, owner.auth)).data;
    expect(byTag.map((x: Body) => x.id)).toEqual([e.id]);
    const byMeta = ok(await call(rt.t, 'GET', `/v1/executions?metadata=customer:acme&agentId=${agent.id}`, owner.auth)).data;
    expect(byMeta.map((x: Body) => x.id)).toEqual([e.id]);
  });

  it('the older /executions path is the same route: by slug, with the same fields', async () => {
    rt.scripts.write('alias', answer('Alias'));
    const agent = await scriptedAgent(rt.t, owner.auth, 'alias');
    const e = ok(await run(agent.slug, { input: 'Go', tags: ['via-alias'] }, 'executions'));
    expect(e).toMatchObject({ agentId: agent.id, status: 'completed', tags: ['via-alias'], planId: null });
  });

  it('without them the execution has no tags, no plan and only the runtime metadata', async () => {
    rt.scripts.write('bare', answer('Bare'));
    const agent = await scriptedAgent(rt.t, owner.auth, 'bare');
    const e = ok(await run(agent.id, { input: 'Go' }));
    expect(e).toMatchObject({ tags: [], planId: null });
    expect(Object.keys(e.metadata)).toEqual(['runtime']);
  });

  it('a queued run carries them from the start', async () => {
    rt.scripts.write('queued', answer('Later'));
    const agent = await scriptedAgent(rt.t, owner.auth, 'queued');
    const planId = await newPlan();
    const res = await run(agent.slug, { input: 'Later', mode: 'async', tags: ['nightly'], metadata: { batch: 7 }, planId });
    expect(res.statusCode, res.body).toBe(202);
    const e = ok(await call(rt.t, 'GET', `/v1/executions/${res.json().executionId}`, owner.auth));
    expect(e).toMatchObject({ agentId: agent.id, status: 'queued', tags: ['nightly'], planId, metadata: { batch: 7, runtime: { mode: 'async' } } });
  });

  it('a streamed run by slug names the agent by id in its first event', async () => {
    rt.scripts.write('streamed', answer('Streamed'));
    const agent = await scriptedAgent(rt.t, owner.auth, 'streamed');
    const res = await run(agent.slug, { input: 'Go', mode: 'stream', tags: ['sse'] });
    expect(res.statusCode).toBe(200);
    const events = parseSse(res.body);
    expect(events[0]).toMatchObject({ event: 'execution', data: { agentId: agent.id, status: 'running' } });
    expect(events.at(-1)).toMatchObject({ event: 'done', data: { execution: { agentId: agent.id, tags: ['sse'] } } });
  });
});

describe('runs an agent calls', () => {
  it('inherit the plan, the tags and the session; not the metadata', async () => {
    rt.scripts.write('helper', answer('Helped'));
    const helper = await scriptedAgent(rt.t, owner.auth, 'helper');
    rt.scripts.write('lead', [
      { toolCalls: [{ id: 'h1', name: 'call_agent', arguments: { agent: helper.slug, input: 'Help' } }], usage: { promptTokens: 10, completionTokens: 2 } },
      { content: 'Done with help', usage: { promptTokens: 10, completionTokens: 2 } },
    ]);
    const lead = await scriptedAgent(rt.t, owner.auth, 'lead', { tools: ['call_agent'] });
    const planId = await newPlan();
    const e = ok(await run(lead.slug, { input: 'Go', tags: ['team'], metadata: { customer: 'acme' }, planId, sessionToken: 'conv-team' }));
    expect(e).toMatchObject({ status: 'completed', planId, tags: ['team'], metadata: { customer: 'acme' } });
    const childId = e.toolCalls[0].childExecutionId as string;
    const child = ok(await call(rt.t, 'GET', `/v1/executions/${childId}`, owner.auth));
    expect(child).toMatchObject({ agentId: helper.id, parentExecutionId: e.id, planId, tags: ['team'], sessionId: e.sessionId });
    expect(Object.keys(child.metadata)).toEqual(['runtime']);
    expect(child.metadata.runtime.depth).toBe(1);
    // The tag finds the whole tree.
    const byTag = ok(await call(rt.t, 'GET', '/v1/executions?tag=team', owner.auth)).data.map((x: Body) => x.id).sort();
    expect(byTag).toEqual([e.id, childId].sort());
  });
});

describe('a queued run', () => {
  it("passes its plan and tags to the runs it calls when the worker runs it", async () => {
    rt.scripts.write('night-helper', answer('Helped at night'));
    const helper = await scriptedAgent(rt.t, owner.auth, 'night-helper');
    rt.scripts.write('night-lead', [
      { toolCalls: [{ id: 'n1', name: 'call_agent', arguments: { agent: helper.slug, input: 'Help' } }], usage: { promptTokens: 10, completionTokens: 2 } },
      { content: 'Done overnight', usage: { promptTokens: 10, completionTokens: 2 } },
    ]);
    const lead = await scriptedAgent(rt.t, owner.auth, 'night-lead', { tools: ['call_agent'] });
    const planId = await newPlan();
    const res = await run(lead.slug, { input: 'Go', mode: 'async', tags: ['overnight'], metadata: { batch: 9 }, planId });
    expect(res.statusCode, res.body).toBe(202);
    const runtime = createRuntime({ db: rt.t.db, config: rt.t.config.runtime, keys: deriveKeys(TEST_SECRET) });
    const worker = new Worker({ db: rt.t.db, handlers: { [AGENT_RUN_TASK]: agentRunHandler(runtime) }, pollIntervalMs: 20, prefetch: 0 });
    worker.start();
    try {
      let e: Body;
      for (;;) {
        e = ok(await call(rt.t, 'GET', `/v1/executions/${res.json().executionId}`, owner.auth));
        if (!['queued', 'running'].includes(e.status)) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(e).toMatchObject({ status: 'completed', planId, tags: ['overnight'], metadata: { batch: 9 } });
      const child = ok(await call(rt.t, 'GET', `/v1/executions/${e.toolCalls[0].childExecutionId}`, owner.auth));
      expect(child).toMatchObject({ agentId: helper.id, parentExecutionId: e.id, planId, tags: ['overnight'] });
      expect(Object.keys(child.metadata)).toEqual(['runtime']);
    } finally {
      await worker.stop({ timeoutMs: 5000 });
    }
  });
});

describe('refusals', () => {
  it('an unknown slug is 404, a malformed reference 400; nothing is written', async () => {
    const before = await rowCounts(rt.t);
    for (const path of ['runs', 'executions']) {
      const missing = await run('no-such-agent', { input: 'x' }, path);
      expect(missing.statusCode).toBe(404);
      expect(errorOf(missing)).toMatchObject({ code: 'not_found', message: 'agent no-such-agent does not exist' });
      const bad = await run('No_Such', { input: 'x' }, path);
      expect(bad.statusCode).toBe(400);
      expect(errorOf(bad)).toMatchObject({ code: 'validation_failed' });
      expect(errorOf(bad).message).toMatch(/^params\.id: must be the agent's id \(a UUID\) or its slug/);
    }
    expect(await rowCounts(rt.t)).toEqual(before);
  });

  it('metadata the runtime could not record beside its own is 413, the runtime key 400; nothing is written', async () => {
    rt.scripts.write('refused', answer('never'));
    const agent = await scriptedAgent(rt.t, owner.auth, 'refused');
    const before = await rowCounts(rt.t);
    const big = await run(agent.slug, { input: 'x', metadata: { big: 'x'.repeat(64 * 1024 - 100) } });
    expect(big.statusCode).toBe(413);
    expect(errorOf(big)).toMatchObject({ code: 'payload_too_large' });
    expect(errorOf(big).message).toMatch(/^body\.metadata/);
    const reserved = await run(agent.slug, { input: 'x', metadata: { runtime: 1 } });
    expect(reserved.statusCode).toBe(400);
    expect(errorOf(reserved).message).toMatch(/^body\.metadata\.runtime: runtime is the runtime's own key/);
    expect(await rowCounts(rt.t)).toEqual(before);
  });
});

describe('OpenAPI', () => {
  it('documents /runs, and /executions as its alias with the same body', async () => {
    const doc = ok(await rt.t.app.inject({ method: 'GET', url: '/openapi.json' }));
    const runs = doc.paths['/v1/agents/{id}/runs'].post;
    const alias = doc.paths['/v1/agents/{id}/executions'].post;
    expect(runs.summary).toMatch(/^Run an agent \(by id or slug\)/);
    expect(alias.summary).toMatch(/^Alias of POST \/v1\/agents\/\{id\}\/runs/);
    expect(alias.requestBody).toEqual(runs.requestBody);
    expect(alias.parameters).toEqual(runs.parameters);
    expect(Object.keys(runs.requestBody.content['application/json'].schema.properties)).toEqual(
      expect.arrayContaining(['input', 'metadata', 'tags', 'planId', 'sessionId', 'sessionToken']),
    );
  });
});
