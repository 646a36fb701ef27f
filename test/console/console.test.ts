import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { authenticator } from 'otplib';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, screenshot } from '../helpers/browser.js';
import { makeAgent, publishVersion } from '../runs/fixtures.js';
import { createTestApp, PASSWORD, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';

/**
 * The web console in a real Chromium (issue 16), served by the service on
 * loopback: sign in (with a two-factor code when the account has one), create
 * an API key with scopes (its secret shown once, and it works), a hostile
 * name shown as text, revoke it (it stops working), sign out.
 */

let t: TestApp;
let base: string;
let browser: Browser;

const scripts = mkdtempSync(join(tmpdir(), 'agentbase-console-scripts-'));
writeFileSync(join(scripts, 'console-hello.json'), JSON.stringify({
  model: 'gpt-4o-mini',
  turns: [{ content: 'Hello from the console. <b>not bold</b> and on time.', usage: { promptTokens: 12, completionTokens: 9 } }],
}));

beforeAll(async () => {
  t = await createTestApp({ AGENTBASE_SCRIPTS_DIR: scripts });
  base = await t.app.listen({ host: '127.0.0.1', port: 0 });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await t?.close();
  rmSync(scripts, { recursive: true, force: true });
});

async function newPage(width = 1280, height = 800): Promise<Page> {
  const ctx = await browser.newContext({ viewport: { width, height } });
  const page = await ctx.newPage();
  // Well inside the test's own timeout, so a wait that never ends names its locator.
  page.setDefaultTimeout(10_000);
  // Any script error or CSP violation in the page fails the test that meets it.
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) problems.push(`console error: ${m.text()}`);
  });
  (page as Page & { problems: string[] }).problems = problems;
  return page;
}
const problemsOf = (p: Page) => (p as Page & { problems: string[] }).problems;

async function signIn(page: Page, u: SignedUp, code?: () => string) {
  await page.goto(`${base}/console/`);
  await page.getByLabel('Email').fill(u.email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  if (code) {
    await page.getByLabel('Two-factor code').fill(code());
    await page.getByRole('button', { name: 'Sign in' }).click();
  }
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

const withKey = (key: string, url: string) => t.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${key}` } });

describe('the console in Chromium', () => {
  it('signs in, creates a scoped API key shown once that works, shows a hostile name as text, revokes it, signs out', async () => {
    const u = await signupUser(t.app);
    const page = await newPage();
    await page.goto(`${base}/console/`);
    await screenshot(page, 'sign-in');
    // a wrong password is said, not thrown
    await page.getByLabel('Email').fill(u.email);
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').textContent()).toMatch(/email or password is wrong/);

    await signIn(page, u);
    expect(await page.locator('.who').textContent()).toContain(u.email);
    await page.getByRole('link', { name: 'API keys' }).click();
    await page.getByText('No API keys yet').waitFor();

    const hostile = '<img src=x onerror="document.body.dataset.pwned=1">';
    await page.getByLabel('Name').fill(hostile);
    await page.getByLabel('agents:read').check();
    await page.getByRole('button', { name: 'Create key' }).click();
    const key = (await page.getByTestId('new-key').textContent())!;
    expect(key.length).toBeGreaterThan(20);
    await screenshot(page, 'api-keys');

    // the key works, with its scope and no more
    expect((await withKey(key, '/v1/agents')).statusCode).toBe(200);
    expect((await withKey(key, '/v1/api-keys')).statusCode).toBe(403);

    // the name is text in the table, never markup
    await page.getByRole('cell', { name: hostile, exact: true }).waitFor();
    expect(await page.locator('table img').count()).toBe(0);
    expect(await page.evaluate(() => document.body.dataset.pwned)).toBeUndefined();

    // shown once: gone after Done and not in the list
    await page.getByRole('button', { name: 'Done' }).click();
    expect(await page.getByTestId('new-key').count()).toBe(0);
    expect(await page.content()).not.toContain(key);

    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: `Revoke ${hostile}` }).click();
    await page.getByText('No API keys yet').waitFor();
    expect((await withKey(key, '/v1/agents')).statusCode).toBe(401);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    expect(problemsOf(page)).toEqual([]);
  });

  it('asks for the two-factor code when the account has one', async () => {
    const u = await signupUser(t.app);
    const enroll = await t.app.inject({ method: 'POST', url: '/v1/me/mfa/totp', headers: u.auth, payload: { name: 'Phone' } });
    const { deviceId, secret } = enroll.json() as { deviceId: string; secret: string };
    // the current step's code confirms the device; the next step's signs in (each code works once)
    const confirm = await t.app.inject({
      method: 'POST', url: '/v1/me/mfa/totp/confirm', headers: u.auth, payload: { deviceId, code: authenticator.generate(secret) },
    });
    expect(confirm.statusCode).toBe(200);
    const page = await newPage();
    await signIn(page, u, () => authenticator.clone({ epoch: Date.now() + 30_000 }).generate(secret));
    expect(await page.locator('.who').textContent()).toContain(u.email);
    expect(problemsOf(page)).toEqual([]);
  });

  it('switches organization without the password, and the pages show the other organization', async () => {
    const a = await signupUser(t.app, { organizationName: 'Alpha' });
    const b = await signupUser(t.app, { organizationName: 'Beta' });
    await makeAgent(t.app, a.auth, 'alpha-bot');
    await makeAgent(t.app, b.auth, 'beta-bot');
    const inv = await t.app.inject({ method: 'POST', url: '/v1/invitations', headers: b.auth, payload: { email: a.email, role: 'member' } });
    expect(inv.statusCode, inv.body).toBe(201);
    const joined = await t.app.inject({ method: 'POST', url: '/v1/auth/invitations/accept', headers: a.auth, payload: { token: inv.json().token } });
    expect(joined.statusCode, joined.body).toBeLessThan(300);
    const page = await newPage();
    await signIn(page, a);
    await page.getByRole('link', { name: 'Agents' }).click();
    await page.getByRole('link', { name: 'alpha-bot' }).waitFor();
    await page.getByLabel('Organization').selectOption({ label: 'Beta' });
    await page.getByRole('link', { name: 'beta-bot' }).waitFor();
    expect(await page.getByRole('link', { name: 'alpha-bot' }).count()).toBe(0);
    expect(await page.getByLabel('Organization').inputValue()).toBe(b.orgId);
    expect(problemsOf(page)).toEqual([]);
  });

  it('can be used with the keyboard alone: sign in, move between pages, open a run', async () => {
    const u = await signupUser(t.app);
    const agentId = await makeAgent(t.app, u.auth, 'keys-only');
    const ingest = await t.app.inject({
      method: 'POST', url: '/v1/ingest/batch', headers: u.auth,
      payload: { executions: [{ clientId: 'kb-1', agentId, status: 'completed' }] },
    });
    expect(ingest.json().rejected, ingest.body).toBe(0);
    const page = await newPage();
    await page.goto(`${base}/console/`);
    await page.getByLabel('Email').focus();
    await page.keyboard.type(u.email);
    await page.keyboard.press('Tab');
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    // Tab reaches the Runs link (focus is visible), Enter opens it
    for (let i = 0; i < 10 && (await page.evaluate(() => document.activeElement?.textContent)) !== 'Runs'; i++) await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Runs');
    expect(await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle)).toBe('solid');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Runs' }).waitFor();
    await page.locator('tbody tr a').first().waitFor();
    await page.locator('tbody tr a').first().focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: /^Run / }).waitFor();
    expect(problemsOf(page)).toEqual([]);
  });

  it('fits a 390-pixel phone screen and every control has a label', async () => {
    const u = await signupUser(t.app);
    const page = await newPage(390, 844);
    await signIn(page, u);
    await page.getByRole('link', { name: 'API keys' }).click();
    await page.getByRole('button', { name: 'Create key' }).waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    const unlabelled = await page.evaluate(() =>
      [...document.querySelectorAll('input, button, select, textarea')]
        .filter((el) => !(el as HTMLElement).innerText?.trim() && !el.getAttribute('aria-label') && !(el as HTMLInputElement).labels?.length)
        .map((el) => el.outerHTML));
    expect(unlabelled).toEqual([]);
    await screenshot(page, 'api-keys-phone');
  });
});

describe('overview', () => {
  it('plots runs, errors, cost and tokens per day stacked by agent, with totals that match the API, and the month against the limits', async () => {
    const u = await signupUser(t.app);
    const planner = await makeAgent(t.app, u.auth, 'planner');
    const booker = await makeAgent(t.app, u.auth, 'booker');
    const daysAgo = (d: number) => new Date(Date.now() - d * 86_400_000 - 3_600_000).toISOString();
    let n = 0;
    const exec = (agentId: string, d: number, over: Record<string, unknown> = {}) => ({
      clientId: `ov-${++n}`, agentId, status: 'completed', createdAt: daysAgo(d), startedAt: daysAgo(d), totalTokens: 1000, costUsd: 0.25, ...over,
    });
    const ingest = await t.app.inject({
      method: 'POST', url: '/v1/ingest/batch', headers: u.auth,
      payload: { executions: [exec(planner, 3), exec(planner, 3, { status: 'failed' }), exec(booker, 1), exec(booker, 0), exec(planner, 0)] },
    });
    expect(ingest.json().rejected, ingest.body).toBe(0);
    const api = (await t.app.inject({ method: 'GET', url: '/v1/performance/daily', headers: u.auth })).json() as {
      data: { executions: number; failed: number; costUsd: number; totalTokens: number }[];
    };
    const sum = (k: 'executions' | 'failed' | 'costUsd' | 'totalTokens') => api.data.reduce((s, r) => s + r[k], 0);

    const page = await newPage();
    await signIn(page, u);
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
    expect(problemsOf(page)).toEqual([]);
  });
});

describe('runs and traces', () => {
  it('a trace sent through the API is in the list, filters find it, and its waterfall shows each span with payloads as text', async () => {
    const u = await signupUser(t.app);
    const agentId = await makeAgent(t.app, u.auth, 'support-bot');
    const t0 = Date.now() - 60_000;
    const at = (ms: number) => new Date(t0 + ms).toISOString();
    const hostile = '<img src=x onerror="document.body.dataset.pwned=1">';
    const ingest = await t.app.inject({
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
    const detail = (await t.app.inject({ method: 'GET', url: '/v1/executions?sessionId=sess-console', headers: u.auth })).json().data[0];

    const page = await newPage();
    await signIn(page, u);
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
    expect(page.url()).toBe(`${base}/console/runs/${detail.id}`);
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
    expect(problemsOf(page)).toEqual([]);
  });

  it('lists sessions and shows one as a timeline of its runs', async () => {
    const u = await signupUser(t.app);
    const agentId = await makeAgent(t.app, u.auth, 'concierge');
    const at = (ms: number) => new Date(Date.now() - 120_000 + ms).toISOString();
    const res = await t.app.inject({
      method: 'POST', url: '/v1/ingest/batch', headers: u.auth,
      payload: {
        executions: [
          { clientId: 's-1', agentId, status: 'completed', sessionId: 'trip-42', createdAt: at(0), input: { q: 'first question' } },
          { clientId: 's-2', agentId, status: 'completed', sessionId: 'trip-42', createdAt: at(60_000), input: { q: 'second question' } },
        ],
      },
    });
    expect(res.json().rejected, res.body).toBe(0);
    const page = await newPage();
    await signIn(page, u);
    await page.getByRole('link', { name: 'Sessions' }).click();
    await page.getByRole('link', { name: 'trip-42' }).click();
    await page.getByRole('heading', { name: /^Session/ }).waitFor();
    const entries = page.locator('.timeline > li');
    await entries.nth(1).waitFor();
    expect(await entries.count()).toBe(2);
    await entries.nth(0).locator('summary').click();
    expect(await entries.nth(0).textContent()).toContain('first question');
    await screenshot(page, 'session');
    expect(problemsOf(page)).toEqual([]);
  });

  it('says how to send a first trace when there are no runs', async () => {
    const u = await signupUser(t.app);
    const page = await newPage();
    await signIn(page, u);
    await page.getByRole('link', { name: 'Runs' }).click();
    await page.getByText('No runs yet').waitFor();
    expect(await page.locator('.empty pre').textContent()).toContain('/v1/ingest/batch');
  });
});

describe('agents and the audit log', () => {
  it('lists agents, opens one with its versions and the diff of two, and links to its runs', async () => {
    const u = await signupUser(t.app);
    const hostile = '<script>document.body.dataset.pwned=1</script>';
    const id = await makeAgent(t.app, u.auth, 'planner');
    const patch = async (body: object) => {
      const version = (await t.app.inject({ method: 'GET', url: `/v1/agents/${id}`, headers: u.auth })).json().version;
      return t.app.inject({ method: 'PATCH', url: `/v1/agents/${id}`, headers: u.auth, payload: { version, ...body } });
    };
    expect((await patch({ systemPrompt: 'You plan trips.', description: hostile })).statusCode).toBe(200);
    await publishVersion(t.app, u.auth, id, '1.0.0');
    expect((await patch({ systemPrompt: 'You plan trips within budget.', temperature: 0.2 })).statusCode).toBe(200);
    await publishVersion(t.app, u.auth, id, '1.1.0');
    const cap = await t.app.inject({ method: 'PUT', url: `/v1/agents/${id}/capabilities/itineraries`, headers: u.auth, payload: { proficiency: 0.8 } });
    expect(cap.statusCode, cap.body).toBe(201);

    const page = await newPage();
    await signIn(page, u);
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
    expect(problemsOf(page)).toEqual([]);
  });

  it('starts a run from the agent page and shows it streaming to completion, then its trace', async () => {
    const u = await signupUser(t.app);
    const made = await t.app.inject({
      method: 'POST', url: '/v1/agents', headers: u.auth,
      payload: { name: 'greeter', slug: 'greeter', modelSettings: { provider: 'scripted', script: 'console-hello' } },
    });
    expect(made.statusCode, made.body).toBe(201);
    const agentId = made.json().id as string;
    await publishVersion(t.app, u.auth, agentId, '1.0.0');
    const version = (await t.app.inject({ method: 'GET', url: `/v1/agents/${agentId}`, headers: u.auth })).json().version;
    const active = await t.app.inject({ method: 'POST', url: `/v1/agents/${agentId}/status`, headers: u.auth, payload: { status: 'active', version } });
    expect(active.statusCode, active.body).toBe(200);
    const page = await newPage();
    await signIn(page, u);
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
    expect(problemsOf(page)).toEqual([]);
  });

  it('shows the audit log with filters and a row\'s before and after, and verifies the chain', async () => {
    const u = await signupUser(t.app);
    await makeAgent(t.app, u.auth, 'audited');
    const page = await newPage();
    await signIn(page, u);
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
    expect(problemsOf(page)).toEqual([]);
  });
});

describe('workflows and jobs', () => {
  it('shows a workflow run as its steps by depth with their status, and cancels it', async () => {
    const u = await signupUser(t.app);
    const wf = await t.app.inject({
      method: 'POST', url: '/v1/workflows', headers: u.auth,
      payload: {
        name: 'hold-then-wait', status: 'active',
        steps: [{ key: 'hold', type: 'wait', event: 'go' }, { key: 'second', type: 'wait', event: 'done', dependsOn: ['hold'] }],
      },
    });
    expect(wf.statusCode, wf.body).toBe(201);
    const started = await t.app.inject({ method: 'POST', url: `/v1/workflows/${wf.json().id}/executions`, headers: u.auth, payload: { input: { city: 'Oslo' } } });
    expect(started.statusCode, started.body).toBe(202);
    const page = await newPage();
    await signIn(page, u);
    await page.getByRole('link', { name: 'Workflows' }).click();
    await page.locator('tbody tr a').first().click();
    await page.getByRole('heading', { name: /^Workflow run/ }).waitFor();
    const cols = page.locator('.dag-col');
    await cols.nth(1).waitFor();
    expect(await cols.count()).toBe(2);
    // the first step's row as the API has it (no worker runs here: its job waits on the queue)
    const before = (await t.app.inject({ method: 'GET', url: `/v1/workflow-executions/${started.json().id}`, headers: u.auth })).json();
    expect(await page.locator('[data-step="hold"] .status').textContent()).toBe(before.steps.find((x: { stepKey: string }) => x.stepKey === 'hold').status);
    expect(await page.locator('[data-step="second"] .status').textContent()).toBe('not reached');
    await screenshot(page, 'workflow-run');
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Cancel run' }).click();
    await page.waitForFunction(() => document.querySelector('[data-testid="wf-status"]')?.textContent === 'cancelled');
    expect(await page.getByRole('button', { name: 'Cancel run' }).count()).toBe(0);
    const run = (await t.app.inject({ method: 'GET', url: `/v1/workflow-executions/${started.json().id}`, headers: u.auth })).json();
    expect(run.status).toBe('cancelled');
    expect(problemsOf(page)).toEqual([]);
  });

  it('lists jobs by status and cancels a queued one', async () => {
    const u = await signupUser(t.app);
    const made = await t.app.inject({
      method: 'POST', url: '/v1/agents', headers: u.auth,
      payload: { name: 'later', slug: 'later', modelSettings: { provider: 'scripted', script: 'console-hello' } },
    });
    const agentId = made.json().id as string;
    await publishVersion(t.app, u.auth, agentId, '1.0.0');
    const version = (await t.app.inject({ method: 'GET', url: `/v1/agents/${agentId}`, headers: u.auth })).json().version;
    await t.app.inject({ method: 'POST', url: `/v1/agents/${agentId}/status`, headers: u.auth, payload: { status: 'active', version } });
    // no worker runs in this test's service: the async run's job stays queued
    const queued = await t.app.inject({ method: 'POST', url: `/v1/agents/${agentId}/runs`, headers: u.auth, payload: { input: 'later please', mode: 'async' } });
    expect(queued.statusCode, queued.body).toBe(202);
    const page = await newPage();
    await signIn(page, u);
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
    const job = (await t.app.inject({ method: 'GET', url: `/v1/jobs/${queued.json().jobId}`, headers: u.auth })).json();
    expect(job.status).toBe('cancelled');
    await screenshot(page, 'jobs');
    expect(problemsOf(page)).toEqual([]);
  });
});

describe('memory', () => {
  it("searches an agent's memories with the explain view, and the knowledge base", async () => {
    const u = await signupUser(t.app);
    const agentId = await makeAgent(t.app, u.auth, 'travel-agent');
    const save = (content: string, importance: number) =>
      t.app.inject({ method: 'POST', url: `/v1/agents/${agentId}/memories`, headers: u.auth, payload: { content, importance, memoryType: 'preference' } });
    expect((await save('The customer prefers window seats on long flights', 0.9)).statusCode).toBe(201);
    expect((await save('The customer is vegetarian <img src=x onerror="document.body.dataset.pwned=1">', 0.5)).statusCode).toBe(201);
    expect((await save('Invoices go to the finance team', 0.3)).statusCode).toBe(201);
    const k = await t.app.inject({
      method: 'POST', url: '/v1/knowledge', headers: u.auth,
      payload: { domain: 'travel', sourceAgentId: agentId, content: { title: 'Seat selection policy', description: 'Window seats cost extra on long flights' } },
    });
    expect(k.statusCode, k.body).toBe(201);

    const page = await newPage();
    await signIn(page, u);
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
    expect(problemsOf(page)).toEqual([]);
  });
});

describe('plans', () => {
  it('shows a plan\'s versions and the diff of two, and creates and revokes a share link', async () => {
    const u = await signupUser(t.app);
    const made = await t.app.inject({ method: 'POST', url: '/v1/plans', headers: u.auth, payload: { kind: 'generic', title: 'Trip' } });
    expect(made.statusCode, made.body).toBe(201);
    const planId = made.json().id as string;
    const changed = await t.app.inject({
      method: 'PATCH', url: `/v1/plans/${planId}`, headers: u.auth, payload: { version: made.json().version, title: 'Trip to Oslo', description: 'Four days in May' },
    });
    expect(changed.statusCode, changed.body).toBe(200);
    const page = await newPage();
    await signIn(page, u);
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
    expect((await t.app.inject({ method: 'GET', url: `/v1/shared/${token}` })).statusCode).toBe(200);
    await page.locator('tbody tr').first().waitFor();
    await screenshot(page, 'plan');
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: /^Revoke / }).click();
    await page.getByText(/^revoked /).waitFor();
    expect((await t.app.inject({ method: 'GET', url: `/v1/shared/${token}` })).statusCode).toBe(404);
    expect(problemsOf(page)).toEqual([]);
  });
});

describe('how the console is served', () => {
  it('a page path answers the app with a strict CSP; files are cached by hash; a missing file is 404', async () => {
    const page = await t.app.inject({ method: 'GET', url: '/console/api-keys' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['content-security-policy']).not.toContain('unsafe-inline');
    expect(page.headers['cache-control']).toBe('no-cache');
    expect(page.headers['x-frame-options']).toBe('DENY');
    // no inline script at all: every script is a file of the console's own origin
    expect(page.body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    const js = /src="(\/console\/assets\/[^"]+\.js)"/.exec(page.body)![1]!;
    const asset = await t.app.inject({ method: 'GET', url: js });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(asset.headers['cache-control']).toContain('immutable');
    const again = await t.app.inject({ method: 'GET', url: js, headers: { 'if-none-match': String(asset.headers.etag) } });
    expect(again.statusCode).toBe(304);
    const missing = await t.app.inject({ method: 'GET', url: '/console/assets/nope.js' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('route_not_found');
    const traversal = await t.app.inject({ method: 'GET', url: '/console/..%2f..%2fpackage.json' });
    expect(traversal.statusCode).toBe(404);
    const bare = await t.app.inject({ method: 'GET', url: '/console' });
    expect(bare.statusCode).toBe(302);
    expect(bare.headers.location).toBe('/console/');
  });
});
