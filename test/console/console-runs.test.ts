import { describe, expect, it } from 'vitest';
import { screenshot } from '../helpers/browser.js';
import { makeAgent, publishVersion } from '../runs/fixtures.js';
import { signupUser } from '../helpers/app.js';
import { useConsole } from './console-world.js';

/**
 * The console in a real Chromium (issue 16): the overview's plots, runs and their traces, sessions, agents (versions, status, a streamed run) and the audit log, with hostile strings shown as text.
 */

const w = useConsole();

describe('overview', () => {
  it('plots runs, errors, cost and tokens per day stacked by agent, with totals that match the API, and the month against the limits', async () => {
    const u = await signupUser(w.t.app);
    const planner = await makeAgent(w.t.app, u.auth, 'planner');
    const booker = await makeAgent(w.t.app, u.auth, 'booker');
    const daysAgo = (d: number) => new Date(Date.now() - d * 86_400_000 - 3_600_000).toISOString();
    let n = 0;
    const exec = (agentId: string, d: number, over: Record<string, unknown> = {}) => ({
      clientId: `ov-${++n}`, agentId, status: 'completed', createdAt: daysAgo(d), startedAt: daysAgo(d), totalTokens: 1000, costUsd: 0.25, ...over,
    });
    const ingest = await w.t.app.inject({
      method: 'POST', url: '/v1/ingest/batch', headers: u.auth,
      payload: { executions: [exec(planner, 3), exec(planner, 3, { status: 'failed' }), exec(booker, 1), exec(booker, 0), exec(planner, 0)] },
    });
    expect(ingest.json().rejected, ingest.body).toBe(0);
    const api = (await w.t.app.inject({ method: 'GET', url: '/v1/performance/daily', headers: u.auth })).json() as {
      data: { executions: number; failed: number; costUsd: number; totalTokens: number }[];
    };
    const sum = (k: 'executions' | 'failed' | 'costUsd' | 'totalTokens') => api.data.reduce((s, r) => s + r[k], 0);

    const page = await w.newPage();
    await w.signIn(page, u);
    expect(new URL(page.url()).pathname).toBe('/console/');
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.locator('.plot canvas').nth(3).waitFor();
    expect(await page.locator('.plot').count()).toBe(4);
    expect(await page.getByTestId('total-runs').textContent()).toBe(String(sum('executions')));
    expect(await page.getByTestId('total-errors').textContent()).toBe(String(sum('failed')));
    expect(await page.getByTestId('total-cost').textContent()).toBe(`$${sum('costUsd').toFixed(2)}`);
    expect(sum('executions')).toBe(5);
    // the legend names both agents; the plot has drawn pixels
    expect(await page.locator('.plot').first().locator('.u-legend').textContent()).toMatch(/planner[\s\S]*booker|booker[\s\S]*planner/);
    const inked = await page.locator('.plot canvas').first().evaluate((c: HTMLCanvasElement) => {
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let coloured = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i + 3]! > 0 && !(d[i]! > 200 && d[i + 1]! > 200 && d[i + 2]! > 200)) coloured++;
      return coloured;
    });
    expect(inked).toBeGreaterThan(100);
    // the month against the limits
    await page.getByRole('meter', { name: /^Runs: / }).waitFor();
    expect(await page.getByRole('meter', { name: /^Runs: / }).count()).toBe(1);
    await screenshot(page, 'overview');
    await page.getByLabel('model').check();
    await page.locator('.plot canvas').nth(3).waitFor();
    expect(w.problemsOf(page)).toEqual([]);
  });
});

describe('runs and traces', () => {
  it('a trace sent through the API is in the list, filters find it, and its waterfall shows each span with payloads as text', async () => {
    const u = await signupUser(w.t.app);
    const agentId = await makeAgent(w.t.app, u.auth, 'support-bot');
    const t0 = Date.now() - 60_000;
    const at = (ms: number) => new Date(t0 + ms).toISOString();
    const hostile = '<img src=x onerror="document.body.dataset.pwned=1">';
    const ingest = await w.t.app.inject({
      method: 'POST', url: '/v1/ingest/batch', headers: u.auth,
      payload: {
        executions: [
          { clientId: 'console-run', agentId, status: 'failed', sessionId: 'sess-console', startedAt: at(0), completedAt: at(3000), errorMessage: 'the tool timed out' },
          { clientId: 'other-run', agentId, status: 'completed', startedAt: at(100), completedAt: at(200) },
        ],
        spans: [
          { clientId: 'root', executionClientId: 'console-run', spanId: 'aaaaaaaaaaaaaaaa', kind: 'reasoning_step', name: 'plan the answer', startedAt: at(0), endedAt: at(3000), reasoning: 'first look the order up' },
          {
            clientId: 'llm', executionClientId: 'console-run', parentSpanId: 'aaaaaaaaaaaaaaaa', kind: 'llm_call', name: 'chat', model: 'gpt-4o', provider: 'openai',
            promptTokens: 1200, completionTokens: 300, startedAt: at(10), endedAt: at(1500),
            input: { messages: [{ role: 'user', content: 'where is my order?' }] }, output: { content: hostile },
          },
          {
            clientId: 'tool', executionClientId: 'console-run', parentSpanId: 'aaaaaaaaaaaaaaaa', kind: 'tool_call', name: 'lookup_order', toolName: 'lookup_order',
            startedAt: at(1500), endedAt: at(3000), status: 'error', errorMessage: 'upstream timeout', input: { orderId: 'A-1' },
          },
        ],
        decisions: [{
          clientId: 'd-1', executionClientId: 'console-run', decidedAt: at(20), decisionType: 'route_to_tool',
          reasoningChain: ['the user asks about an order', 'look it up'], confidence: 0.82, modelUsed: 'gpt-4o',
        }],
        messages: [{
          clientId: 'm-1', executionClientId: 'console-run', fromAgent: 'support-bot', toAgent: 'billing-bot', messageType: 'handoff',
          messageData: { orderId: 'A-1', note: hostile }, sentAt: at(2500),
        }],
      },
    });
    expect(ingest.statusCode, ingest.body).toBe(200);
    expect(ingest.json().rejected, ingest.body).toBe(0);
    const detail = (await w.t.app.inject({ method: 'GET', url: '/v1/executions?sessionId=sess-console', headers: u.auth })).json().data[0];

    const page = await w.newPage();
    await w.signIn(page, u);
    await page.getByRole('link', { name: 'Runs' }).click();
    await page.locator('tbody tr').nth(1).waitFor();
    expect(await page.locator('tbody tr').count()).toBe(2);
    // each filter is applied by the API: wait for its answer, then read the table
    const apply = async (query: string) => {
      const answered = page.waitForResponse((r) => r.url().includes('/v1/executions?') && r.url().includes(query));
      await page.getByRole('button', { name: 'Apply' }).click();
      await answered;
      await page.waitForFunction(() => document.querySelectorAll('tbody tr').length === 1);
    };
    await page.getByLabel('Status').selectOption('failed');
    await apply('status=failed');
    expect(await page.locator('tbody tr').first().textContent()).toContain('support-bot');
    // the session filter takes the application's own session key
    await page.getByLabel('Status').selectOption('');
    await page.getByLabel('Session').fill('sess-console');
    await apply('sessionId=sess-console');
    expect(await page.locator('tbody tr').first().textContent()).toContain('failed');
    await screenshot(page, 'runs');

    await page.locator('tbody tr a').first().click();
    await page.getByRole('heading', { name: /^Run / }).waitFor();
    expect(page.url()).toBe(`${w.base}/console/runs/${detail.id}`);
    const rows = page.locator('.waterfall > li');
    expect(await rows.count()).toBe(3);
    // depth first, children under their parent; the failed tool span is marked
    expect(await rows.locator('.span-name').allTextContents()).toEqual(['plan the answerreasoning_step', 'chatllm_call', 'lookup_ordertool_call']);
    expect(await rows.nth(2).getAttribute('class')).toBe('failed');
    // gpt-4o at the built-in prices: the run's cost is the model call's
    expect(detail.costUsd).toBeGreaterThan(0);
    expect(await page.getByTestId('run-cost').textContent()).toMatch(/^\$\d/);
    await rows.nth(1).getByRole('button').click();
    const open = rows.nth(1).locator('.span-detail');
    await open.waitFor();
    expect(await open.textContent()).toContain('where is my order?');
    expect(await open.textContent()).toContain(hostile.replaceAll('"', '\\"'));
    expect(await page.locator('.span-detail img').count()).toBe(0);
    expect(await page.evaluate(() => document.body.dataset.pwned)).toBeUndefined();
    // the run's decisions with their reasoning and confidence, and its messages in order
    expect(await page.locator('ol[aria-label="Decisions"]').textContent()).toMatch(/route_to_tool · confidence 0\.82[\s\S]*look it up/);
    const msg = page.locator('ol[aria-label="Messages, in the order sent"] > li');
    await msg.first().waitFor();
    expect(await msg.count()).toBe(1);
    expect(await msg.textContent()).toContain('support-bot → billing-bot · handoff');
    expect(await page.locator('main img').count()).toBe(0);
    await screenshot(page, 'trace');
    // a reload of the trace's address lands on it again (after signing in)
    await page.reload();
    await page.getByLabel('Email').waitFor();
    expect(w.problemsOf(page)).toEqual([]);
  });

  it('lists sessions and shows one as a timeline of its runs', async () => {
    const u = await signupUser(w.t.app);
    const agentId = await makeAgent(w.t.app, u.auth, 'concierge');
    const at = (ms: number) => new Date(Date.now() - 120_000 + ms).toISOString();
    const res = await w.t.app.inject({
      method: 'POST', url: '/v1/ingest/batch', headers: u.auth,
      payload: {
        executions: [
          { clientId: 's-1', agentId, status: 'completed', sessionId: 'trip-42', createdAt: at(0), input: { q: 'first question' } },
          { clientId: 's-2', agentId, status: 'completed', sessionId: 'trip-42', createdAt: at(60_000), input: { q: 'second question' } },
        ],
      },
    });
    expect(res.json().rejected, res.body).toBe(0);
    const page = await w.newPage();
    await w.signIn(page, u);
    await page.getByRole('link', { name: 'Sessions' }).click();
    await page.getByRole('link', { name: 'trip-42' }).click();
    await page.getByRole('heading', { name: /^Session/ }).waitFor();
    const entries = page.locator('.timeline > li');
    await entries.nth(1).waitFor();
    expect(await entries.count()).toBe(2);
    await entries.nth(0).locator('summary').click();
    expect(await entries.nth(0).textContent()).toContain('first question');
    await screenshot(page, 'session');
    expect(w.problemsOf(page)).toEqual([]);
  });

  it('says how to send a first trace when there are no runs', async () => {
    const u = await signupUser(w.t.app);
    const page = await w.newPage();
    await w.signIn(page, u);
    await page.getByRole('link', { name: 'Runs' }).click();
    await page.getByText('No runs yet').waitFor();
    expect(await page.locator('.empty pre').textContent()).toContain('/v1/ingest/batch');
  });
});

describe('agents and the audit log', () => {
  it('lists agents, opens one with its versions and the diff of two, and links to its runs', async () => {
    const u = await signupUser(w.t.app);
    const hostile = '<script>document.body.dataset.pwned=1</script>';
    const id = await makeAgent(w.t.app, u.auth, 'planner');
    const patch = async (body: object) => {
      const version = (await w.t.app.inject({ method: 'GET', url: `/v1/agents/${id}`, headers: u.auth })).json().version;
      return w.t.app.inject({ method: 'PATCH', url: `/v1/agents/${id}`, headers: u.auth, payload: { version, ...body } });
    };
    expect((await patch({ systemPrompt: 'You plan trips.', description: hostile })).statusCode).toBe(200);
    await publishVersion(w.t.app, u.auth, id, '1.0.0');
    expect((await patch({ systemPrompt: 'You plan trips within budget.', temperature: 0.2 })).statusCode).toBe(200);
    await publishVersion(w.t.app, u.auth, id, '1.1.0');
    const cap = await w.t.app.inject({ method: 'PUT', url: `/v1/agents/${id}/capabilities/itineraries`, headers: u.auth, payload: { proficiency: 0.8 } });
    expect(cap.statusCode, cap.body).toBe(201);

    const page = await w.newPage();
    await w.signIn(page, u);
    await page.getByRole('link', { name: 'Agents' }).click();
    await page.getByRole('link', { name: 'planner' }).click();
    await page.getByRole('heading', { name: 'planner' }).waitFor();
    expect(await page.getByText(hostile, { exact: true }).count()).toBe(1);
    expect(await page.locator('main script').count()).toBe(0);
    await page.locator('tbody tr').nth(1).waitFor();
    expect(await page.locator('tbody tr').count()).toBe(2);
    await page.getByRole('button', { name: 'Compare' }).click();
    const diff = page.locator('table.diff');
    await diff.waitFor();
    expect(await diff.locator('caption').textContent()).toBe('Changes from 1.0.0 to 1.1.0');
    const fields = await diff.locator('tbody tr td:first-child').allTextContents();
    expect(fields).toEqual(expect.arrayContaining(['systemPrompt', 'temperature']));
    expect(await diff.textContent()).toContain('You plan trips within budget.');
    expect(await page.locator('.capabilities').textContent()).toBe('itineraries proficiency 0.8');
    // a move the lifecycle refuses says which are allowed; an allowed one changes the status
    await page.getByLabel('New status').selectOption('paused');
    await page.getByRole('button', { name: 'Change status' }).click();
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').textContent()).toMatch(/draft/);
    await page.getByLabel('New status').selectOption('active');
    await page.getByRole('button', { name: 'Change status' }).click();
    await page.waitForFunction(() => document.querySelector('.figures .status')?.textContent === 'active');
    await screenshot(page, 'agent');
    await page.getByRole('link', { name: 'Runs of this agent' }).click();
    await page.getByRole('heading', { name: 'Runs' }).waitFor();
    // chosen at once, and named once the agents have loaded
    expect(await page.getByLabel('Agent').inputValue()).toBe(id);
    await page.waitForFunction((agent) => {
      const sel = document.querySelector<HTMLSelectElement>('select[name="agentId"]');
      return sel?.value === agent && sel.selectedOptions[0]?.textContent === 'planner';
    }, id);
    expect(await page.evaluate(() => document.body.dataset.pwned)).toBeUndefined();
    expect(w.problemsOf(page)).toEqual([]);
  });

  it('starts a run from the agent page and shows it streaming to completion, then its trace', async () => {
    const u = await signupUser(w.t.app);
    const made = await w.t.app.inject({
      method: 'POST', url: '/v1/agents', headers: u.auth,
      payload: { name: 'greeter', slug: 'greeter', modelSettings: { provider: 'scripted', script: 'console-hello' } },
    });
    expect(made.statusCode, made.body).toBe(201);
    const agentId = made.json().id as string;
    await publishVersion(w.t.app, u.auth, agentId, '1.0.0');
    const version = (await w.t.app.inject({ method: 'GET', url: `/v1/agents/${agentId}`, headers: u.auth })).json().version;
    const active = await w.t.app.inject({ method: 'POST', url: `/v1/agents/${agentId}/status`, headers: u.auth, payload: { status: 'active', version } });
    expect(active.statusCode, active.body).toBe(200);
    const page = await w.newPage();
    await w.signIn(page, u);
    await page.getByRole('link', { name: 'Agents' }).click();
    await page.getByRole('link', { name: 'greeter' }).click();
    await page.getByLabel('Input').fill('Say hello');
    await page.getByRole('button', { name: 'Start run' }).click();
    await page.waitForFunction(() => document.querySelector('[data-testid="run-status"]')?.textContent !== 'running', undefined, { timeout: 15_000 })
      .catch(() => undefined);
    expect(await page.locator('.run').textContent()).toMatch(/^completed/);
    expect(await page.getByTestId('run-output').textContent()).toBe('Hello from the console. <b>not bold</b> and on time.');
    expect(await page.locator('[data-testid="run-output"] b').count()).toBe(0);
    await screenshot(page, 'agent-run');
    await page.getByRole('link', { name: 'trace' }).click();
    await page.getByRole('heading', { name: /^Run / }).waitFor();
    expect(await page.locator('.waterfall > li').count()).toBeGreaterThanOrEqual(1);
    expect(await page.getByText('completed', { exact: true }).count()).toBeGreaterThanOrEqual(1);
    expect(w.problemsOf(page)).toEqual([]);
  });

  it('shows the audit log with filters and a row\'s before and after, and verifies the chain', async () => {
    const u = await signupUser(w.t.app);
    await makeAgent(w.t.app, u.auth, 'audited');
    const page = await w.newPage();
    await w.signIn(page, u);
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.locator('.audit > li').first().waitFor();
    const all = await page.locator('.audit > li').count();
    expect(all).toBeGreaterThanOrEqual(2);
    await page.getByLabel('Action').fill('agent.created');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForFunction(() => document.querySelectorAll('.audit > li').length === 1);
    await page.locator('.audit-row').first().click();
    expect(await page.locator('.audit .span-detail').textContent()).toContain('audited');
    await page.getByRole('button', { name: 'Verify the hash chain' }).click();
    await page.getByTestId('chain').waitFor();
    expect(await page.getByTestId('chain').textContent()).toMatch(/^The chain is intact: \d+ rows checked/);
    await screenshot(page, 'audit');
    expect(w.problemsOf(page)).toEqual([]);
  });
});
