/** Suites and cases over HTTP: CRUD, bad input (4xx, nothing written), permissions, other tenants, RLS and audit rows. */
import { describe, expect, it } from 'vitest';
import { errorOf, signupUser } from '../../helpers/app.js';
import { addCase, auditActions, call, createSuite, evalCounts, ok, useEvals } from './fixtures.js';

const h = useEvals();
const exactCase = { input: 'What is the capital of France?', expectedOutput: 'Paris', scorer: { type: 'exact' } };

describe('suites', () => {
  it('are created, read, listed, changed with the optimistic lock and soft-deleted, each change audited', async () => {
    const agent = await h.agent([['x', 'y']]);
    const s = await createSuite(h, agent.slug, { name: 'Geography', description: 'capitals', passThreshold: 0.8, gateMetric: 'average_score', config: { team: 'qa' } });
    expect(s).toMatchObject({ agentId: agent.id, name: 'Geography', passThreshold: 0.8, gateMetric: 'average_score', gate: 'required', caseCount: 0, version: 1, config: { team: 'qa' } });
    expect(ok(await call(h.rt.t, 'GET', `/v1/eval-suites/${s.id}`, h.viewer.auth))).toMatchObject({ id: s.id });
    const list = ok(await call(h.rt.t, 'GET', `/v1/eval-suites?agentId=${agent.id}`, h.viewer.auth));
    expect(list.data.map((x: { id: string }) => x.id)).toEqual([s.id]);

    const changed = ok(await call(h.rt.t, 'PATCH', `/v1/eval-suites/${s.id}`, h.member.auth, { version: 1, passThreshold: 0.9, gate: 'if_run' }));
    expect(changed).toMatchObject({ passThreshold: 0.9, gate: 'if_run', version: 2, name: 'Geography' });
    const stale = await call(h.rt.t, 'PATCH', `/v1/eval-suites/${s.id}`, h.owner, { version: 1, name: 'x' });
    expect(stale.statusCode).toBe(409);
    expect(errorOf(stale).code).toBe('version_conflict');

    expect((await call(h.rt.t, 'DELETE', `/v1/eval-suites/${s.id}`, h.owner)).statusCode).toBe(204);
    expect((await call(h.rt.t, 'GET', `/v1/eval-suites/${s.id}`, h.owner)).statusCode).toBe(404);
    expect((await auditActions(h, s.id)).map((a) => a.action)).toEqual(['eval_suite.created', 'eval_suite.updated', 'eval_suite.deleted']);
  });

  it('pages newest first', async () => {
    const agent = await h.agent([['x', 'y']]);
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await createSuite(h, agent.id)).id);
    const p1 = ok(await call(h.rt.t, 'GET', `/v1/eval-suites?agentId=${agent.id}&limit=2`, h.owner));
    const p2 = ok(await call(h.rt.t, 'GET', `/v1/eval-suites?agentId=${agent.id}&limit=2&cursor=${p1.nextCursor}`, h.owner));
    expect([...p1.data, ...p2.data].map((x: { id: string }) => x.id)).toEqual(ids.reverse());
    expect(p2.nextCursor).toBeNull();
  });

  it('refuse bad input with 400 and write nothing', async () => {
    const agent = await h.agent([['x', 'y']]);
    const before = await evalCounts(h);
    const bad: Array<[Record<string, unknown>, string]> = [
      [{ name: 'x' }, 'validation_failed'],
      [{ agentId: agent.id }, 'validation_failed'],
      [{ agentId: agent.id, name: '   ' }, 'validation_failed'],
      [{ agentId: agent.id, name: 'x', passThreshold: 1.5 }, 'validation_failed'],
      [{ agentId: agent.id, name: 'x', gate: 'sometimes' }, 'validation_failed'],
      [{ agentId: agent.id, name: 'x', gateMetric: 'median' }, 'validation_failed'],
      [{ agentId: agent.id, name: 'x', extra: 1 }, 'validation_failed'],
      [{ agentId: 'no-such-agent', name: 'x' }, 'validation_failed'],
      [{ agentId: '0190f5d3-7c5e-7000-8000-000000000000', name: 'x' }, 'validation_failed'],
    ];
    for (const [body, code] of bad) {
      const res = await call(h.rt.t, 'POST', '/v1/eval-suites', h.owner, body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(errorOf(res).code).toBe(code);
    }
    const s = await createSuite(h, agent.id);
    const after = await evalCounts(h);
    for (const [body, status] of [[{ name: 'x' }, 400], [{ version: 1, passThreshold: -0.1 }, 400], [{ version: 1, agentId: 'nobody' }, 400], [{ version: 0 }, 400]] as const) {
      expect((await call(h.rt.t, 'PATCH', `/v1/eval-suites/${s.id}`, h.owner, body)).statusCode, JSON.stringify(body)).toBe(status);
    }
    expect((await call(h.rt.t, 'GET', '/v1/eval-suites/not-a-uuid', h.owner)).statusCode).toBe(400);
    expect((await call(h.rt.t, 'GET', '/v1/eval-suites?cursor=zzz', h.owner)).statusCode).toBe(400);
    expect((await call(h.rt.t, 'GET', '/v1/eval-suites?agentId=nope', h.owner)).statusCode).toBe(400);
    expect((await call(h.rt.t, 'DELETE', '/v1/eval-suites/0190f5d3-7c5e-7000-8000-000000000000', h.owner)).statusCode).toBe(404);
    const end = await evalCounts(h);
    expect(after.eval_suites).toBe(before.eval_suites! + 1);
    expect(end).toEqual(after);
  });

  it('need evals:write to change and evals:read to read', async () => {
    const agent = await h.agent([['x', 'y']]);
    const res = await call(h.rt.t, 'POST', '/v1/eval-suites', h.viewer.auth, { agentId: agent.id, name: 'x' });
    expect(res.statusCode).toBe(403);
    expect(errorOf(res).code).toBe('forbidden');
    const s = await createSuite(h, agent.id, {}, h.member.auth);
    expect((await call(h.rt.t, 'DELETE', `/v1/eval-suites/${s.id}`, h.viewer.auth)).statusCode).toBe(403);
    expect((await call(h.rt.t, 'POST', `/v1/eval-suites/${s.id}/cases`, h.viewer.auth, exactCase)).statusCode).toBe(403);
    expect((await call(h.rt.t, 'GET', `/v1/eval-suites/${s.id}/cases`, h.viewer.auth)).statusCode).toBe(200);
  });
});

describe('cases', () => {
  it('are created with per-scorer default thresholds, listed in order, changed and soft-deleted, each change audited', async () => {
    const agent = await h.agent([['x', 'y']]);
    const judge = await h.agent([['x', '{"score":1}']]);
    const s = await createSuite(h, agent.id);
    const a = await addCase(h, s.id, exactCase);
    expect(a).toMatchObject({ suiteId: s.id, input: exactCase.input, expectedOutput: 'Paris', scorer: { type: 'exact', caseSensitive: true, normalizeWhitespace: false }, passThreshold: 1, version: 1 });
    const b = await addCase(h, s.id, { input: [{ role: 'system', content: 'Be brief' }, { role: 'user', content: 'A poem' }], scorer: { type: 'llm_judge', judgeAgent: judge.slug }, scoringRubric: { rhyme: 'it rhymes' } });
    expect(b).toMatchObject({ passThreshold: 0.7, scoringRubric: { rhyme: 'it rhymes' }, expectedOutput: null });
    const c = await addCase(h, s.id, { input: 'weather?', expectedOutput: 'sunny', scorer: { type: 'embedding_similarity' } });
    expect(c.passThreshold).toBe(0.8);
    const d = await addCase(h, s.id, { input: 'json', scorer: { type: 'json_schema', schema: { type: 'object' } }, passThreshold: 0.5 });
    expect(d.passThreshold).toBe(0.5);

    const list = ok(await call(h.rt.t, 'GET', `/v1/eval-suites/${s.id}/cases?limit=3`, h.owner));
    expect(list.data.map((x: { id: string }) => x.id)).toEqual([a.id, b.id, c.id]);
    const rest = ok(await call(h.rt.t, 'GET', `/v1/eval-suites/${s.id}/cases?cursor=${list.nextCursor}`, h.owner));
    expect(rest.data.map((x: { id: string }) => x.id)).toEqual([d.id]);
    expect(ok(await call(h.rt.t, 'GET', `/v1/eval-suites/${s.id}`, h.owner)).caseCount).toBe(4);

    // A new scorer without a threshold gets that scorer's default.
    const changed = ok(await call(h.rt.t, 'PATCH', `/v1/eval-suites/${s.id}/cases/${a.id}`, h.owner, { version: 1, scorer: { type: 'embedding_similarity' } }));
    expect(changed).toMatchObject({ version: 2, passThreshold: 0.8, scorer: { type: 'embedding_similarity' }, expectedOutput: 'Paris' });
    expect((await call(h.rt.t, 'PATCH', `/v1/eval-suites/${s.id}/cases/${a.id}`, h.owner, { version: 1, name: 'z' })).statusCode).toBe(409);
    expect((await call(h.rt.t, 'DELETE', `/v1/eval-suites/${s.id}/cases/${d.id}`, h.owner)).statusCode).toBe(204);
    expect((await call(h.rt.t, 'GET', `/v1/eval-suites/${s.id}/cases/${d.id}`, h.owner)).statusCode).toBe(404);
    expect(ok(await call(h.rt.t, 'GET', `/v1/eval-suites/${s.id}/cases/${a.id}`, h.owner)).id).toBe(a.id);
    expect((await auditActions(h, a.id)).map((x) => x.action)).toEqual(['eval_case.created', 'eval_case.updated']);
    expect((await auditActions(h, d.id)).map((x) => x.action)).toEqual(['eval_case.created', 'eval_case.deleted']);
  });

  it('refuse bad scorers, bad regexes and schemas, and cases lacking what their scorer needs (400, nothing written)', async () => {
    const agent = await h.agent([['x', 'y']]);
    const s = await createSuite(h, agent.id);
    const c = await addCase(h, s.id, exactCase);
    const before = await evalCounts(h);
    const bad: Array<Record<string, unknown>> = [
      { ...exactCase, input: '' },
      { ...exactCase, input: [] },
      { ...exactCase, input: [{ role: 'tool', content: 'x' }] },
      { ...exactCase, scorer: { type: 'bleu' } },
      { ...exactCase, scorer: { type: 'exact', caseSensitive: 'no' } },
      { ...exactCase, scorer: { type: 'regex', pattern: '(' } },
      { ...exactCase, scorer: { type: 'regex', pattern: '(a+)+$' } },
      { ...exactCase, scorer: { type: 'regex', pattern: 'x'.repeat(501) } },
      { ...exactCase, scorer: { type: 'json_schema', schema: { type: 'object', requird: ['a'] } } },
      { ...exactCase, scorer: { type: 'json_schema', schema: { $schema: 'https://example.com/custom', type: 'object' } } },
      { ...exactCase, scorer: { type: 'numeric' }, expectedOutput: 'four' },
      { ...exactCase, scorer: { type: 'embedding_similarity' }, expectedOutput: { a: 1 } },
      { ...exactCase, scorer: { type: 'llm_judge', judgeAgent: agent.slug } },
      { ...exactCase, scorer: { type: 'llm_judge', judgeAgent: 'no-such-judge' }, scoringRubric: 'be right' },
      { input: 'q', scorer: { type: 'exact' }, name: 'no expected' },
      { ...exactCase, passThreshold: 2 },
      { ...exactCase, unknown: true },
    ];
    for (const body of bad) {
      const res = await call(h.rt.t, 'POST', `/v1/eval-suites/${s.id}/cases`, h.owner, { name: 'bad', ...body });
      expect(res.statusCode, JSON.stringify(body).slice(0, 200)).toBe(400);
      expect(errorOf(res).code).toBe('validation_failed');
    }
    const patch = await call(h.rt.t, 'PATCH', `/v1/eval-suites/${s.id}/cases/${c.id}`, h.owner, { version: 1, scorer: { type: 'numeric' } });
    expect(patch.statusCode).toBe(400);
    expect(errorOf(patch).message).toMatch(/numeric scorer needs a number/);
    expect((await call(h.rt.t, 'POST', '/v1/eval-suites/0190f5d3-7c5e-7000-8000-000000000000/cases', h.owner, { name: 'n', ...exactCase })).statusCode).toBe(404);
    expect((await call(h.rt.t, 'GET', `/v1/eval-suites/${s.id}/cases/not-a-uuid`, h.owner)).statusCode).toBe(400);
    expect(await evalCounts(h)).toEqual(before);
  });
});

describe('other tenants', () => {
  it('get 404 and empty lists; row-level security hides the rows from them', async () => {
    const agent = await h.agent([['x', 'y']]);
    const s = await createSuite(h, agent.id);
    const c = await addCase(h, s.id, exactCase);
    const other = await signupUser(h.rt.t.app);
    for (const url of [`/v1/eval-suites/${s.id}`, `/v1/eval-suites/${s.id}/cases`, `/v1/eval-suites/${s.id}/cases/${c.id}`]) {
      expect((await call(h.rt.t, 'GET', url, other.auth)).statusCode, url).toBe(404);
    }
    expect((await call(h.rt.t, 'PATCH', `/v1/eval-suites/${s.id}`, other.auth, { version: 1, name: 'mine' })).statusCode).toBe(404);
    expect((await call(h.rt.t, 'DELETE', `/v1/eval-suites/${s.id}/cases/${c.id}`, other.auth)).statusCode).toBe(404);
    expect((await call(h.rt.t, 'POST', `/v1/eval-suites/${s.id}/runs`, other.auth, {})).statusCode).toBe(404);
    expect(ok(await call(h.rt.t, 'GET', '/v1/eval-suites', other.auth)).data).toEqual([]);
    // Another org cannot point a suite at this org's agent.
    expect((await call(h.rt.t, 'POST', '/v1/eval-suites', other.auth, { agentId: agent.id, name: 'x' })).statusCode).toBe(400);
    // RLS: the other org's tenant transaction sees none of the rows, whatever the query says.
    const seen = await h.rt.t.db.tenant(other.orgId, async (sql) => {
      const out: number[] = [];
      for (const table of ['eval_suites', 'eval_test_cases', 'eval_runs', 'eval_results']) {
        out.push((await sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n);
      }
      return out;
    });
    expect(seen).toEqual([0, 0, 0, 0]);
    await expect(h.rt.t.db.tenant(other.orgId, (sql) =>
      sql.query(`INSERT INTO eval_suites (id, org_id, name) VALUES (gen_random_uuid(), $1, 'x')`, [h.orgId]))).rejects.toThrow(/row-level security/);
  });
});
