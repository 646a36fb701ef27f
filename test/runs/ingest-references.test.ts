import { randomUUID } from 'node:crypto';
import { v7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';
import { makeAgent, publishVersion } from './fixtures.js';

/**
 * Every reference an ingested item carries is resolved inside the tenant: an
 * unknown one rejects that item alone (unknown_reference, naming the field),
 * and a reference into another organization reads exactly like one to
 * nothing. The rest of the batch lands, and the answer says exactly which.
 */

let t: TestApp;
let a: SignedUp;
let b: SignedUp;
const own = {} as { agent: string; otherAgent: string; version: string; otherVersion: string; parent: string; plan: string };
const theirs = {} as { agent: string; version: string; user: string; execution: string; plan: string };

const ingest = (who: SignedUp, payload: unknown) =>
  t.app.inject({ method: 'POST', url: '/v1/ingest/batch', headers: who.auth, payload: payload as object });

interface Result { kind: string; clientId: string; status: string; code?: string; field?: string; error?: string; id?: string }
const resultsOf = async (who: SignedUp, payload: unknown): Promise<Map<string, Result>> => {
  const res = await ingest(who, payload);
  expect(res.statusCode, res.body).toBe(200);
  return new Map((res.json().results as Result[]).map((r) => [r.clientId, r]));
};

const now = () => new Date().toISOString();
let n = 0;
const cid = (tag: string) => `${tag}-${++n}`;

async function executionsOf(orgId: string): Promise<string[]> {
  const r = await t.db.admin.query<{ client_id: string }>(`SELECT client_id FROM executions WHERE org_id = $1 ORDER BY client_id`, [orgId]);
  return r.rows.map((x) => x.client_id);
}

beforeAll(async () => {
  t = await createTestApp();
  a = await signupUser(t.app);
  b = await signupUser(t.app);
  own.agent = await makeAgent(t.app, a.auth, 'planner');
  own.otherAgent = await makeAgent(t.app, a.auth, 'booker');
  own.version = await publishVersion(t.app, a.auth, own.agent);
  own.otherVersion = await publishVersion(t.app, a.auth, own.otherAgent);
  theirs.agent = await makeAgent(t.app, b.auth, 'planner');
  theirs.version = await publishVersion(t.app, b.auth, theirs.agent);
  theirs.user = b.userId;
  const r = await resultsOf(b, { executions: [{ clientId: 'b-exec', agentId: theirs.agent }] });
  theirs.execution = r.get('b-exec')!.id!;
  const p = await resultsOf(a, { executions: [{ clientId: 'a-parent', agentId: own.agent }] });
  own.parent = p.get('a-parent')!.id!;
  const plan = (who: SignedUp) => t.app.inject({ method: 'POST', url: '/v1/plans', headers: who.auth, payload: { kind: 'generic', title: 'Plan' } });
  own.plan = (await plan(a)).json().id;
  theirs.plan = (await plan(b)).json().id;
});
afterAll(async () => t?.close());

/** An id of the same shape as `id` that names nothing. */
const nothingLike = (id: string) => (id[14] === '7' ? v7() : randomUUID());

describe.each([
  ['agentVersionId', 'execution', () => theirs.version],
  ['userId', 'execution', () => theirs.user],
  ['parentExecutionId', 'execution', () => theirs.execution],
  ['agentId', 'execution', () => theirs.agent],
  ['agentId', 'decision', () => theirs.agent],
  ['fromAgentId', 'message', () => theirs.agent],
  ['toAgentId', 'message', () => theirs.agent],
  ['planId', 'execution', () => theirs.plan],
  ['planId', 'decision', () => theirs.plan],
  ['planId', 'message', () => theirs.plan],
] as const)('%s of a%s', (field, kind, theirId) => {
  function item(clientId: string, ref: string): Record<string, unknown> {
    if (kind === 'execution') return field === 'agentId' ? { clientId, agentId: ref } : { clientId, agentId: own.agent, [field]: ref };
    if (kind === 'decision') {
      const refs = field === 'planId' ? { agentId: own.agent, planId: ref } : { agentId: ref };
      return { clientId, ...refs, decidedAt: now(), decisionType: 'route', reasoningChain: ['x'], confidence: 0.5 };
    }
    return { clientId, messageType: 'ask', messageData: {}, sentAt: now(), [field]: ref };
  }
  const list = `${kind}s`;

  it('into another organization, or to nothing: rejected alone with unknown_reference naming the field, indistinguishably', async () => {
    const cross = cid('cross');
    const missing = cid('missing');
    const fine = cid('fine');
    const foreign = theirId();
    const nothing = nothingLike(foreign);
    const good = field === 'planId' ? item(fine, own.plan) : kind === 'execution' ? { clientId: fine, agentId: own.agent } : item(fine, own.agent);
    const r = await resultsOf(a, { [list]: [item(cross, foreign), good, item(missing, nothing)] });

    for (const [clientId, id] of [[cross, foreign], [missing, nothing]] as const) {
      expect(r.get(clientId)).toMatchObject({ status: 'rejected', code: 'unknown_reference', field });
      expect(r.get(clientId)!.error).toMatch(new RegExp(`^${field}: no [a-z ]+ ${id} in this organization$`));
    }
    // The two answers differ only by the id they name.
    expect(r.get(cross)!.error!.replace(foreign, 'ID')).toBe(r.get(missing)!.error!.replace(nothing, 'ID'));
    expect(r.get(fine)!.status).toBe('accepted');
  });
});

describe('references that resolve', () => {
  it('land: own version of the named agent, a member user, a parent execution, upper-case ids', async () => {
    const clientId = cid('ok');
    const r = await resultsOf(a, {
      executions: [{
        clientId, agentId: own.agent.toUpperCase(), agentVersionId: own.version.toUpperCase(), userId: a.userId, parentExecutionId: own.parent,
      }],
      messages: [{ clientId: cid('m'), messageType: 'ask', messageData: {}, sentAt: now(), fromAgentId: own.agent, toAgentId: own.otherAgent }],
    });
    expect([...r.values()].map((x) => x.status)).toEqual(['accepted', 'accepted']);
    const row = await t.db.admin.query(`SELECT agent_version_id, user_id, parent_execution_id FROM executions WHERE client_id = $1`, [clientId]);
    expect(row.rows[0]).toEqual({ agent_version_id: own.version, user_id: a.userId, parent_execution_id: own.parent });
  });

  it('a version of another agent of the same organization is refused, on create and on update', async () => {
    const clientId = cid('mismatch');
    const created = await resultsOf(a, { executions: [{ clientId, agentId: own.agent, agentVersionId: own.otherVersion }] });
    expect(created.get(clientId)).toMatchObject({ status: 'rejected', code: 'unknown_reference', field: 'agentVersionId' });
    expect(created.get(clientId)!.error).toBe(`agentVersionId: ${own.otherVersion} is not a version of agent ${own.agent}`);

    const later = cid('later');
    expect((await resultsOf(a, { executions: [{ clientId: later, agentId: own.agent, status: 'running' }] })).get(later)!.status).toBe('accepted');
    // The update names no agent: the version is checked against the stored one.
    const wrong = await resultsOf(a, { executions: [{ clientId: later, agentVersionId: own.otherVersion }] });
    expect(wrong.get(later)).toMatchObject({ status: 'rejected', code: 'unknown_reference', field: 'agentVersionId' });
    const right = await resultsOf(a, { executions: [{ clientId: later, agentVersionId: own.version, status: 'completed' }] });
    expect(right.get(later)!.status).toBe('updated');
  });
});

describe('batch semantics', () => {
  it('exactly the accepted items are stored; rejected executions take their spans with them', async () => {
    const before = await executionsOf(a.orgId);
    const good = cid('good');
    const bad = cid('bad');
    const r = await resultsOf(a, {
      executions: [{ clientId: good, agentId: own.agent }, { clientId: bad, agentId: own.agent, userId: theirs.user }],
      spans: [
        { clientId: cid('s'), executionClientId: good, kind: 'other', name: 'ok', startedAt: now() },
        { clientId: cid('s'), executionClientId: bad, kind: 'other', name: 'orphan', startedAt: now() },
      ],
    });
    const statuses = [...r.values()].map((x) => `${x.kind}:${x.status}:${x.code ?? ''}`);
    expect(statuses).toEqual(['execution:accepted:', 'execution:rejected:unknown_reference', 'span:accepted:', 'span:rejected:unknown_reference']);
    expect(await executionsOf(a.orgId)).toEqual([...before, good].sort());
  });
});
