import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signupUser, type SignedUp } from '../helpers/app.js';
import { call, ok, rowCounts, runAgent, runtimeApp, scriptedAgent, type Body, type RuntimeTest } from './run-fixtures.js';

let rt: RuntimeTest;
let owner: SignedUp;

beforeAll(async () => {
  rt = await runtimeApp();
  owner = rt.owner;
});
afterAll(async () => rt?.close());

const firstLlmInput = (e: Body): Body[] => e.spans.find((s: Body) => s.kind === 'llm_call').input;

describe('sessions API', () => {
  it('creates, reads, lists and ends a session', async () => {
    const s = ok(await call(rt.t, 'POST', '/v1/sessions', owner.auth, { sessionToken: 'conv-1', externalUserId: 'u-42', ttlSeconds: 3600, context: { lang: 'fr' } }), 201);
    expect(s).toMatchObject({ sessionToken: 'conv-1', externalUserId: 'u-42', userId: owner.userId, contextData: { lang: 'fr' }, conversationHistory: [], isActive: true, executionCount: 0 });
    expect(new Date(s.expiresAt).getTime() - new Date(s.createdAt).getTime()).toBeGreaterThan(3500_000);
    const generated = ok(await call(rt.t, 'POST', '/v1/sessions', owner.auth, {}), 201);
    expect(generated.sessionToken).toMatch(/^ses_/);
    expect(generated.expiresAt).toBeNull();

    const dup = await call(rt.t, 'POST', '/v1/sessions', owner.auth, { sessionToken: 'conv-1' });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().error.details.sessionId).toBe(s.id);

    expect(ok(await call(rt.t, 'GET', `/v1/sessions/${s.id}`, owner.auth)).id).toBe(s.id);
    const mine = ok(await call(rt.t, 'GET', '/v1/sessions?externalUserId=u-42', owner.auth));
    expect(mine.data.map((x: Body) => x.id)).toEqual([s.id]);
    const page1 = ok(await call(rt.t, 'GET', '/v1/sessions?limit=1', owner.auth));
    expect(page1.data).toHaveLength(1);
    const page2 = ok(await call(rt.t, 'GET', `/v1/sessions?limit=1&cursor=${page1.nextCursor}`, owner.auth));
    expect(page2.data[0].id).not.toBe(page1.data[0].id);

    const ended = ok(await call(rt.t, 'DELETE', `/v1/sessions/${s.id}`, owner.auth));
    expect(ended).toMatchObject({ isActive: false });
    expect(ended.endedAt).not.toBeNull();
    expect((await call(rt.t, 'DELETE', `/v1/sessions/${s.id}`, owner.auth)).statusCode).toBe(409);
    const active = ok(await call(rt.t, 'GET', '/v1/sessions?active=true', owner.auth)).data.map((x: Body) => x.id);
    expect(active).not.toContain(s.id);
    expect((await call(rt.t, 'GET', '/v1/sessions/00000000-0000-7000-8000-000000000000', owner.auth)).statusCode).toBe(404);
  });

  it('does not show one organization\'s sessions to another', async () => {
    const s = ok(await call(rt.t, 'POST', '/v1/sessions', owner.auth, {}), 201);
    const other = await signupUser(rt.t.app);
    expect((await call(rt.t, 'GET', `/v1/sessions/${s.id}`, other.auth)).statusCode).toBe(404);
    expect(ok(await call(rt.t, 'GET', '/v1/sessions', other.auth)).data).toEqual([]);
  });
});

describe('runs in a session', () => {
  it('carry the history across two runs (found-or-created by token) and count the activity', async () => {
    rt.scripts.write('remember', [{ content: 'Lisbon it is.', usage: { promptTokens: 10, completionTokens: 3 } }]);
    rt.scripts.write('recall', [{ content: 'You picked Lisbon.', usage: { promptTokens: 30, completionTokens: 4 } }]);
    const first = await scriptedAgent(rt.t, owner.auth, 'remember');
    const second = await scriptedAgent(rt.t, owner.auth, 'recall');

    const e1 = ok(await runAgent(rt.t, owner.auth, first.id, { input: 'I want to go to Lisbon', sessionToken: 'trip-77' }));
    const s1 = ok(await call(rt.t, 'GET', `/v1/sessions?limit=1`, owner.auth)).data[0];
    expect(s1).toMatchObject({ sessionToken: 'trip-77', agentId: first.id, executionCount: 1, totalTokens: 13 });
    expect(e1.sessionId).toBe(s1.id);

    const e2 = ok(await runAgent(rt.t, owner.auth, second.id, { input: 'Which city did I pick?', sessionToken: 'trip-77' }));
    expect(e2).toMatchObject({ status: 'completed', sessionId: s1.id });
    // The model saw the earlier exchange before the new question.
    expect(firstLlmInput(e2)).toEqual([
      { role: 'system', content: 'You help.' },
      { role: 'user', content: 'I want to go to Lisbon' },
      { role: 'assistant', content: 'Lisbon it is.' },
      { role: 'user', content: 'Which city did I pick?' },
    ]);
    const s2 = ok(await call(rt.t, 'GET', `/v1/sessions/${s1.id}`, owner.auth));
    expect(s2).toMatchObject({ executionCount: 2, totalTokens: 47, actionsCount: 0, lastActivityType: 'execution' });
    expect(s2.totalCostUsd).toBeGreaterThan(0);
    expect(s2.conversationHistory.map((h: Body) => [h.role, h.content, h.executionId])).toEqual([
      ['user', 'I want to go to Lisbon', e1.id],
      ['assistant', 'Lisbon it is.', e1.id],
      ['user', 'Which city did I pick?', e2.id],
      ['assistant', 'You picked Lisbon.', e2.id],
    ]);
    // The same session by id.
    rt.scripts.write('again', [{ content: 'Still Lisbon.' }]);
    const third = await scriptedAgent(rt.t, owner.auth, 'again');
    expect(ok(await runAgent(rt.t, owner.auth, third.id, { input: 'Sure?', sessionId: s1.id })).sessionId).toBe(s1.id);
  });

  it('keep the session context with context_set and context_get across runs', async () => {
    rt.scripts.write('set-ctx', [
      { toolCalls: [{ name: 'context_set', arguments: { key: 'budget', value: { max: 2000, currency: 'EUR' } } }] },
      { content: 'Noted.', expect: { lastContains: '"stored":true' } },
    ]);
    rt.scripts.write('get-ctx', [
      { toolCalls: [{ name: 'context_get', arguments: { key: 'budget' } }] },
      { content: 'Your budget is 2000 EUR.', expect: { lastContains: '"max":2000' } },
    ]);
    const setter = await scriptedAgent(rt.t, owner.auth, 'set-ctx', { tools: ['context_set'] });
    const getter = await scriptedAgent(rt.t, owner.auth, 'get-ctx', { tools: ['context_get'] });
    const s = ok(await call(rt.t, 'POST', '/v1/sessions', owner.auth, { context: { lang: 'pt' } }), 201);
    expect(ok(await runAgent(rt.t, owner.auth, setter.id, { input: 'My budget is 2000 EUR', sessionId: s.id })).status).toBe('completed');
    expect(ok(await runAgent(rt.t, owner.auth, getter.id, { input: 'What is my budget?', sessionId: s.id })).status).toBe('completed');
    const after = ok(await call(rt.t, 'GET', `/v1/sessions/${s.id}`, owner.auth));
    expect(after.contextData).toEqual({ lang: 'pt', budget: { max: 2000, currency: 'EUR' } });
    expect(after.actionsCount).toBe(2);
  });

  it('keep only the most recent 50 history entries, and send only those', async () => {
    const s = ok(await call(rt.t, 'POST', '/v1/sessions', owner.auth, {}), 201);
    const old = Array.from({ length: 60 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `turn ${i}` }));
    await rt.t.db.admin.query(`UPDATE user_sessions SET conversation_history = $1 WHERE id = $2`, [JSON.stringify(old), s.id]);
    rt.scripts.write('long', [{ content: 'ok' }]);
    const agent = await scriptedAgent(rt.t, owner.auth, 'long', { systemPrompt: '' });
    const e = ok(await runAgent(rt.t, owner.auth, agent.id, { input: 'next', sessionId: s.id }));
    const sent = firstLlmInput(e);
    expect(sent).toHaveLength(51);
    expect(sent[0]).toEqual({ role: 'user', content: 'turn 10' });
    const kept = ok(await call(rt.t, 'GET', `/v1/sessions/${s.id}`, owner.auth)).conversationHistory;
    expect(kept).toHaveLength(50);
    expect(kept[0].content).toBe('turn 12');
    expect(kept.at(-1)).toMatchObject({ role: 'assistant', content: 'ok' });
  });

  it('refuse an ended session (409), an expired one (410) and an unknown id (404), writing nothing', async () => {
    rt.scripts.write('plain', [{ content: 'hi' }]);
    const agent = await scriptedAgent(rt.t, owner.auth, 'plain');
    const ended = ok(await call(rt.t, 'POST', '/v1/sessions', owner.auth, { sessionToken: 'gone-1' }), 201);
    ok(await call(rt.t, 'DELETE', `/v1/sessions/${ended.id}`, owner.auth));
    const expired = ok(await call(rt.t, 'POST', '/v1/sessions', owner.auth, { ttlSeconds: 60 }), 201);
    await rt.t.db.admin.query(`UPDATE user_sessions SET expires_at = now() - interval '1 minute' WHERE id = $1`, [expired.id]);

    const before = await rowCounts(rt.t);
    let res = await runAgent(rt.t, owner.auth, agent.id, { input: 'hi', sessionToken: 'gone-1' });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.message).toContain('ended');
    res = await runAgent(rt.t, owner.auth, agent.id, { input: 'hi', sessionId: expired.id });
    expect(res.statusCode).toBe(410);
    expect(res.json().error).toMatchObject({ code: 'session_expired' });
    expect(res.json().error.message).toContain('expired at');
    res = await runAgent(rt.t, owner.auth, agent.id, { input: 'hi', sessionId: '00000000-0000-7000-8000-000000000000' });
    expect(res.statusCode).toBe(404);
    expect(await rowCounts(rt.t)).toEqual(before);
  });
});
