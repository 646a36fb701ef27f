import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, SCREENSHOTS } from '../helpers/browser.js';
import { createTestApp, PASSWORD, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';
import { makeAgent } from '../runs/fixtures.js';

/**
 * How long the console's main pages take on a seeded database of 100k spans
 * (issue 16: measured and reported, never asserted; timings do not belong in
 * assertions). The spans go in through the ingestion API, 100 batches of
 * 1,000 spans under 50 executions each, spread over 30 days and 5 agents.
 * Each page is timed from the click that opens it to its content on screen,
 * three times, and the median is written to
 * test-artifacts/console/page-load-<driver>.json and printed.
 */

const SPANS = Number(process.env.CONSOLE_SEED_SPANS ?? 100_000);
const PER_BATCH = 1000;
const SPANS_PER_EXECUTION = 20;

let t: TestApp;
let base: string;
let browser: Browser;
let u: SignedUp;

beforeAll(async () => {
  t = await createTestApp();
  base = await t.app.listen({ host: '127.0.0.1', port: 0 });
  browser = await launchBrowser();
  u = await signupUser(t.app);
  // the organization's limits allow this many spans a second and a month
  await t.db.admin.query(
    `UPDATE organizations SET max_ingested_spans_per_second = 1000000, max_ingested_spans_per_month = 100000000 WHERE id = $1`, [u.orgId],
  ).catch(() => undefined);
  const agents: string[] = [];
  for (let i = 0; i < 5; i++) agents.push(await makeAgent(t.app, u.auth, `seed-${i}`));
  const now = Date.now();
  let n = 0;
  for (let b = 0; b < SPANS / PER_BATCH; b++) {
    const executions = [];
    const spans = [];
    for (let e = 0; e < PER_BATCH / SPANS_PER_EXECUTION; e++) {
      const id = `e-${b}-${e}`;
      const at = now - ((b * 7 + e) % 30) * 86_400_000 - e * 1000;
      executions.push({ clientId: id, agentId: agents[(b + e) % agents.length], status: e % 17 === 0 ? 'failed' : 'completed', createdAt: new Date(at).toISOString() });
      for (let s = 0; s < SPANS_PER_EXECUTION; s++) {
        spans.push({
          clientId: `s-${++n}`, executionClientId: id, kind: s % 4 === 0 ? 'tool_call' : 'llm_call', name: s % 4 === 0 ? 'lookup' : 'chat',
          model: 'gpt-4o', provider: 'openai', promptTokens: 200 + s, completionTokens: 40, startedAt: new Date(at + s * 50).toISOString(),
          endedAt: new Date(at + s * 50 + 45).toISOString(), input: { q: `question ${s}` }, output: { a: `answer ${s}` },
        });
      }
    }
    const res = await t.app.inject({ method: 'POST', url: '/v1/ingest/batch', headers: u.auth, payload: { executions, spans } });
    if (res.statusCode !== 200 || res.json().rejected !== 0) throw new Error(`seeding batch ${b}: ${res.statusCode} ${res.body.slice(0, 500)}`);
  }
}, 900_000);
afterAll(async () => {
  await browser?.close();
  await t?.close();
});

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function timed(page: Page, open: () => Promise<void>, ready: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await open();
  await ready();
  return performance.now() - started;
}

describe(`page loads on ${SPANS.toLocaleString('en')} spans`, () => {
  it('measures the overview, the runs list, a trace and the audit log (reported, not asserted)', async () => {
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    await page.goto(`${base}/console/`);
    await page.getByLabel('Email').fill(u.email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    const spans = (await t.db.admin.query<{ n: number }>('SELECT count(*)::int AS n FROM spans WHERE org_id = $1', [u.orgId])).rows[0]!.n;
    expect(spans).toBe(SPANS);

    const pages: Record<string, () => Promise<number>> = {
      overview: () => timed(page, () => page.getByRole('link', { name: 'Overview', exact: true }).click(), () => page.locator('.plot canvas').nth(3).waitFor()),
      runs: () => timed(page, () => page.getByRole('link', { name: 'Runs', exact: true }).click(), () => page.locator('tbody tr').nth(49).waitFor()),
      trace: () => timed(page, () => page.locator('tbody tr a').first().click(), () => page.locator('.waterfall > li').nth(SPANS_PER_EXECUTION - 1).waitFor()),
      audit: () => timed(page, () => page.getByRole('link', { name: 'Audit log', exact: true }).click(), () => page.locator('.audit > li').first().waitFor()),
    };
    const figures: Record<string, { medianMs: number; samplesMs: number[] }> = {};
    for (const [name, run] of Object.entries(pages)) {
      const samples: number[] = [];
      for (let i = 0; i < 3; i++) {
        // leave the page first, so each sample loads it again
        if (name === 'trace') await page.getByRole('link', { name: 'Runs', exact: true }).click();
        else await page.getByRole('link', { name: 'API keys', exact: true }).click();
        await page.getByRole('heading', { level: 1 }).waitFor();
        if (name === 'trace') await page.locator('tbody tr').nth(49).waitFor();
        samples.push(Math.round(await run()));
      }
      figures[name] = { medianMs: median(samples), samplesMs: samples };
    }
    const report = { driver: process.env.AGENTBASE_TEST_DRIVER ?? 'pglite', spans, figures };
    mkdirSync(SCREENSHOTS, { recursive: true });
    writeFileSync(join(SCREENSHOTS, `page-load-${report.driver}.json`), `${JSON.stringify(report, null, 2)}\n`);
    console.log(`console page loads (${report.driver}, ${spans} spans): ${Object.entries(figures).map(([k, v]) => `${k} ${v.medianMs} ms`).join(', ')}`);
    for (const v of Object.values(figures)) expect(v.samplesMs).toHaveLength(3);
  }, 300_000);
});
