import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { launchBrowser } from '../helpers/browser.js';
import { createTestApp, PASSWORD, type SignedUp, type TestApp } from '../helpers/app.js';

/**
 * What the console's browser tests share (issue 16): a service on loopback
 * (with a scripted agent's script for runs), a real Chromium, and pages that
 * fail their test on any script error or CSP violation.
 */
export interface ConsoleWorld {
  t: TestApp;
  base: string;
  browser: Browser;
  newPage(width?: number, height?: number): Promise<Page>;
  problemsOf(p: Page): string[];
  signIn(page: Page, u: SignedUp, code?: () => string): Promise<void>;
  withKey(key: string, url: string): ReturnType<TestApp['app']['inject']>;
}

/** Registers the file's beforeAll/afterAll; the fields are there once beforeAll has run. */
export function useConsole(): ConsoleWorld {
  const scripts = mkdtempSync(join(tmpdir(), 'agentbase-console-scripts-'));
  writeFileSync(join(scripts, 'console-hello.json'), JSON.stringify({
    model: 'gpt-4o-mini',
    turns: [{ content: 'Hello from the console. <b>not bold</b> and on time.', usage: { promptTokens: 12, completionTokens: 9 } }],
  }));
  const problems = new WeakMap<Page, string[]>();
  const w = {
    async newPage(width = 1280, height = 800) {
      const ctx = await w.browser.newContext({ viewport: { width, height } });
      const page = await ctx.newPage();
      // Well inside the test's own timeout, so a wait that never ends names its locator.
      page.setDefaultTimeout(10_000);
      // Any script error or CSP violation in the page fails the test that meets it.
      const seen: string[] = [];
      page.on('pageerror', (e) => seen.push(`page error: ${e.message}`));
      page.on('console', (m) => {
        if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) seen.push(`console error: ${m.text()}`);
      });
      problems.set(page, seen);
      return page;
    },
    problemsOf: (p: Page) => problems.get(p) ?? [],
    async signIn(page: Page, u: SignedUp, code?: () => string) {
      await page.goto(`${w.base}/console/`);
      await page.getByLabel('Email').fill(u.email);
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      if (code) {
        await page.getByLabel('Two-factor code').fill(code());
        await page.getByRole('button', { name: 'Sign in' }).click();
      }
      await page.getByRole('button', { name: 'Sign out' }).waitFor();
    },
    withKey: (key: string, url: string) => w.t.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${key}` } }),
  } as ConsoleWorld;
  beforeAll(async () => {
    w.t = await createTestApp({ AGENTBASE_SCRIPTS_DIR: scripts });
    w.base = await w.t.app.listen({ host: '127.0.0.1', port: 0 });
    w.browser = await launchBrowser();
  });
  afterAll(async () => {
    await w.browser?.close();
    await w.t?.close();
    rmSync(scripts, { recursive: true, force: true });
  });
  return w;
}
