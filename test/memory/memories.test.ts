import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, errorOf, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';
import { makeAgent } from '../runs/fixtures.js';

let t: TestApp;
let a: SignedUp;
let b: SignedUp;
let agent: string;

beforeAll(async () => {
  t = await createTestApp();
  a = await signupUser(t.app);
  b = await signupUser(t.app);
  agent = await makeAgent(t.app, a.auth, 'planner');
});
afterAll(async () => t?.close());

type Auth = { authorization: string };
const post = (auth: Auth, url: string, payload: unknown) => t.app.inject({ method: 'POST', url, headers: auth, payload: payload as object });

describe('memories', () => {
  it('saves and finds a memory by text, vector and hybrid', async () => {
    const r = await post(a.auth, `/v1/agents/planner/memories`, { content: 'The user prefers window seats on long flights', memoryType: 'preference', importance: 0.9, tags: ['seating'] });
    expect(r.statusCode, r.body).toBe(201);
    const saved = r.json();
    expect(saved).toMatchObject({ agentId: agent, memoryType: 'preference', importance: 0.9, tags: ['seating'], embeddingModel: 'hashed-ngram-256', embeddingDims: 256 });
    await post(a.auth, `/v1/agents/planner/memories/batch`, { items: [{ content: 'Budget is 2000 euros for the whole trip' }, { content: 'Allergic to peanuts' , memoryType: 'fact' }] });
    for (const mode of ['hybrid', 'vector', 'text'] as const) {
      const s = await post(a.auth, `/v1/agents/planner/memories/search`, { query: 'which seats does the user prefer on flights', mode, explain: true });
      expect(s.statusCode, s.body).toBe(200);
      expect(s.json().mode).toBe(mode);
      expect(s.json().items[0].id, mode).toBe(saved.id);
    }
    const other = await post(b.auth, `/v1/agents/${agent}/memories/search`, { query: 'seats' });
    expect(other.statusCode).toBe(404);
    expect(errorOf(other).code).toBe('not_found');
  });
});
