import { describe, expect, it } from 'vitest';
import { screenshot } from '../helpers/browser.js';
import { makeAgent, publishVersion } from '../runs/fixtures.js';
import { signupUser } from '../helpers/app.js';
import { useConsole } from './console-world.js';

/**
 * The console in a real Chromium (issue 16): workflow runs and jobs, memory search with the explain view, and plans with their diffs and share links.
 */

const w = useConsole();

describe('workflows and jobs', () => {
  it('shows a workflow run as its steps by depth with their status, and cancels it', async () => {
    const u = await signupUser(w.t.app);
    const wf = await w.t.app.inject({
      method: 'POST', url: '/v1/workflows', headers: u.auth,
      payload: {
        name: 'hold-then-wait', status: 'active',
        steps: [{ key: 'hold', type: 'wait', event: 'go' }, { key: 'second', type: 'wait', event: 'done', dependsOn: ['hold'] }],
      },
    });
    expect(wf.statusCode, wf.body).toBe(201);
    const started = await w.t.app.inject({ method: 'POST', url: `/v1/workflows/${wf.json().id}/executions`, headers: u.auth, payload: { input: { city: 'Oslo' } } });
    expect(started.statusCode, started.body).toBe(202);
    const page = await w.newPage();
    await w.signIn(page, u);
    await page.getByRole('link', { name: 'Workflows' }).click();
    await page.locator('tbody tr a').first().click();
    await page.getByRole('heading', { name: /^Workflow run/ }).waitFor();
    const cols = page.locator('.dag-col');
    await cols.nth(1).waitFor();
    expect(await cols.count()).toBe(2);
    // the first step's row as the API has it (no worker runs here: its job waits on the queue)
    const before = (await w.t.app.inject({ method: 'GET', url: `/v1/workflow-executions/${started.json().id}`, headers: u.auth })).json();
    expect(await page.locator('[data-step="hold"] .status').textContent()).toBe(before.steps.find((x: { stepKey: string }) => x.stepKey === 'hold').status);
    expect(await page.locator('[data-step="second"] .status').textContent()).toBe('not reached');
    await screenshot(page, 'workflow-run');
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Cancel run' }).click();
    await page.waitForFunction(() => document.querySelector('[data-testid="wf-status"]')?.textContent === 'cancelled');
    expect(await page.getByRole('button', { name: 'Cancel run' }).count()).toBe(0);
    const run = (await w.t.app.inject({ method: 'GET', url: `/v1/workflow-executions/${started.json().id}`, headers: u.auth })).json();
    expect(run.status).toBe('cancelled');
    expect(w.problemsOf(page)).toEqual([]);
  });

  it('lists jobs by status and cancels a queued one', async () => {
    const u = await signupUser(w.t.app);
    const made = await w.t.app.inject({
      method: 'POST', url: '/v1/agents', headers: u.auth,
      payload: { name: 'later', slug: 'later', modelSettings: { provider: 'scripted', script: 'console-hello' } },
    });
    const agentId = made.json().id as string;
    await publishVersion(w.t.app, u.auth, agentId, '1.0.0');
    const version = (await w.t.app.inject({ method: 'GET', url: `/v1/agents/${agentId}`, headers: u.auth })).json().version;
    await w.t.app.inject({ method: 'POST', url: `/v1/agents/${agentId}/status`, headers: u.auth, payload: { status: 'active', version } });
    // no worker runs in this test's service: the async run's job stays queued
    const queued = await w.t.app.inject({ method: 'POST', url: `/v1/agents/${agentId}/runs`, headers: u.auth, payload: { input: 'later please', mode: 'async' } });
    expect(queued.statusCode, queued.body).toBe(202);
    const page = await w.newPage();
    await w.signIn(page, u);
    await page.getByRole('link', { name: 'Jobs' }).click();
    // the queue's depth and age, from GET /v1/jobs/depth
    const depth = page.getByTestId('queue-depth');
    await depth.waitFor();
    const cells = await depth.locator('tbody tr').first().locator('td').allTextContents();
    expect(cells.slice(2, 5)).toEqual(['1', '0', '0']);
    expect(cells[5]).toMatch(/^\d+ s$/);
    await page.getByLabel('Status').selectOption('queued');
    await page.getByRole('button', { name: `Cancel job ${queued.json().jobId}` }).waitFor();
    await page.getByRole('button', { name: `Cancel job ${queued.json().jobId}` }).click();
    await page.getByText('No jobs with status queued').waitFor();
    await page.getByText('Every queue is empty.').waitFor();
    const job = (await w.t.app.inject({ method: 'GET', url: `/v1/jobs/${queued.json().jobId}`, headers: u.auth })).json();
    expect(job.status).toBe('cancelled');
    await screenshot(page, 'jobs');
    expect(w.problemsOf(page)).toEqual([]);
  });
});

describe('memory', () => {
  it("searches an agent's memories with the explain view, and the knowledge base", async () => {
    const u = await signupUser(w.t.app);
    const agentId = await makeAgent(w.t.app, u.auth, 'travel-agent');
    const save = (content: string, importance: number) =>
      w.t.app.inject({ method: 'POST', url: `/v1/agents/${agentId}/memories`, headers: u.auth, payload: { content, importance, memoryType: 'preference' } });
    expect((await save('The customer prefers window seats on long flights', 0.9)).statusCode).toBe(201);
    expect((await save('The customer is vegetarian <img src=x onerror="document.body.dataset.pwned=1">', 0.5)).statusCode).toBe(201);
    expect((await save('Invoices go to the finance team', 0.3)).statusCode).toBe(201);
    const k = await w.t.app.inject({
      method: 'POST', url: '/v1/knowledge', headers: u.auth,
      payload: { domain: 'travel', sourceAgentId: agentId, content: { title: 'Seat selection policy', description: 'Window seats cost extra on long flights' } },
    });
    expect(k.statusCode, k.body).toBe(201);

    const page = await w.newPage();
    await w.signIn(page, u);
    await page.getByRole('link', { name: 'Memory' }).click();
    await page.waitForFunction(() => document.querySelector<HTMLSelectElement>('select[name="agentId"]')?.value !== '');
    await page.getByLabel('Search memories').fill('window seats flights');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    const hits = page.locator('ol[aria-label="Memories, best first"] > li');
    await hits.first().waitFor();
    expect(await hits.first().locator('.hit-content').textContent()).toBe('The customer prefers window seats on long flights');
    // the explain view: the hit's place in the full-text list, and the factors weighting its score
    expect(await hits.first().locator('.explain').textContent()).toMatch(/full text#1/);
    expect(await hits.first().locator('.explain').textContent()).toMatch(/importance ×\d/);
    expect(await page.getByTestId('memory-mode').textContent()).toMatch(/^Ran as hybrid/);
    await page.getByLabel('Search memories').fill('vegetarian');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.getByText('The customer is vegetarian <img src=x onerror="document.body.dataset.pwned=1">', { exact: true }).waitFor();
    expect(await page.locator('.hits img').count()).toBe(0);
    await screenshot(page, 'memory');

    await page.getByLabel('Search knowledge').fill('seat');
    await page.getByRole('button', { name: 'Search knowledge' }).click();
    const items = page.locator('ol[aria-label="Knowledge items, best first"] > li');
    await items.first().waitFor();
    expect(await items.first().textContent()).toContain('Seat selection policy');
    expect(await page.evaluate(() => document.body.dataset.pwned)).toBeUndefined();
    expect(w.problemsOf(page)).toEqual([]);
  });
});

describe('plans', () => {
  it('shows a plan\'s versions and the diff of two, and creates and revokes a share link', async () => {
    const u = await signupUser(w.t.app);
    const made = await w.t.app.inject({ method: 'POST', url: '/v1/plans', headers: u.auth, payload: { kind: 'generic', title: 'Trip' } });
    expect(made.statusCode, made.body).toBe(201);
    const planId = made.json().id as string;
    const changed = await w.t.app.inject({
      method: 'PATCH', url: `/v1/plans/${planId}`, headers: u.auth, payload: { version: made.json().version, title: 'Trip to Oslo', description: 'Four days in May' },
    });
    expect(changed.statusCode, changed.body).toBe(200);
    const page = await w.newPage();
    await w.signIn(page, u);
    await page.getByRole('link', { name: 'Plans' }).click();
    await page.getByRole('link', { name: 'Trip to Oslo' }).click();
    await page.getByRole('heading', { name: 'Trip to Oslo' }).waitFor();
    const versions = page.locator('ol[aria-label="Versions, newest first"] > li');
    await versions.nth(1).waitFor();
    expect(await versions.count()).toBe(2);
    await page.getByRole('button', { name: 'Compare' }).click();
    await page.getByTestId('plan-diff').waitFor();
    const diff = await page.getByTestId('plan-diff').textContent();
    expect(diff).toContain('v1 → v2');
    expect(diff).toContain('Trip to Oslo');

    await page.getByRole('button', { name: 'Create link' }).click();
    const token = (await page.getByTestId('share-token').textContent())!;
    expect((await w.t.app.inject({ method: 'GET', url: `/v1/shared/${token}` })).statusCode).toBe(200);
    await page.locator('tbody tr').first().waitFor();
    await screenshot(page, 'plan');
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: /^Revoke / }).click();
    await page.getByText(/^revoked /).waitFor();
    expect((await w.t.app.inject({ method: 'GET', url: `/v1/shared/${token}` })).statusCode).toBe(404);
    expect(w.problemsOf(page)).toEqual([]);
  });
});
