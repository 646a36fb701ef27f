import { authenticator } from 'otplib';
import { describe, expect, it } from 'vitest';
import { screenshot } from '../helpers/browser.js';
import { makeAgent } from '../runs/fixtures.js';
import { PASSWORD, signupUser } from '../helpers/app.js';
import { useConsole } from './console-world.js';

/**
 * The console in a real Chromium (issue 16): signing in (with a two-factor code, switching organization, by keyboard alone), API keys shown once and revoked, a phone-sized screen, and how the files are served (CSP, caching, 404s).
 */

const w = useConsole();

describe('the console in Chromium', () => {
  it('signs in, creates a scoped API key shown once that works, shows a hostile name as text, revokes it, signs out', async () => {
    const u = await signupUser(w.t.app);
    const page = await w.newPage();
    await page.goto(`${w.base}/console/`);
    await screenshot(page, 'sign-in');
    // a wrong password is said, not thrown
    await page.getByLabel('Email').fill(u.email);
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').textContent()).toMatch(/email or password is wrong/);

    await w.signIn(page, u);
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
    expect((await w.withKey(key, '/v1/agents')).statusCode).toBe(200);
    expect((await w.withKey(key, '/v1/api-keys')).statusCode).toBe(403);

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
    expect((await w.withKey(key, '/v1/agents')).statusCode).toBe(401);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    expect(w.problemsOf(page)).toEqual([]);
  });

  it('asks for the two-factor code when the account has one', async () => {
    const u = await signupUser(w.t.app);
    const enroll = await w.t.app.inject({ method: 'POST', url: '/v1/me/mfa/totp', headers: u.auth, payload: { name: 'Phone' } });
    const { deviceId, secret } = enroll.json() as { deviceId: string; secret: string };
    // the current step's code confirms the device; the next step's signs in (each code works once)
    const confirm = await w.t.app.inject({
      method: 'POST', url: '/v1/me/mfa/totp/confirm', headers: u.auth, payload: { deviceId, code: authenticator.generate(secret) },
    });
    expect(confirm.statusCode).toBe(200);
    const page = await w.newPage();
    await w.signIn(page, u, () => authenticator.clone({ epoch: Date.now() + 30_000 }).generate(secret));
    expect(await page.locator('.who').textContent()).toContain(u.email);
    expect(w.problemsOf(page)).toEqual([]);
  });

  it('switches organization without the password, and the pages show the other organization', async () => {
    const a = await signupUser(w.t.app, { organizationName: 'Alpha' });
    const b = await signupUser(w.t.app, { organizationName: 'Beta' });
    await makeAgent(w.t.app, a.auth, 'alpha-bot');
    await makeAgent(w.t.app, b.auth, 'beta-bot');
    const inv = await w.t.app.inject({ method: 'POST', url: '/v1/invitations', headers: b.auth, payload: { email: a.email, role: 'member' } });
    expect(inv.statusCode, inv.body).toBe(201);
    const joined = await w.t.app.inject({ method: 'POST', url: '/v1/auth/invitations/accept', headers: a.auth, payload: { token: inv.json().token } });
    expect(joined.statusCode, joined.body).toBeLessThan(300);
    const page = await w.newPage();
    await w.signIn(page, a);
    await page.getByRole('link', { name: 'Agents' }).click();
    await page.getByRole('link', { name: 'alpha-bot' }).waitFor();
    await page.getByLabel('Organization').selectOption({ label: 'Beta' });
    await page.getByRole('link', { name: 'beta-bot' }).waitFor();
    expect(await page.getByRole('link', { name: 'alpha-bot' }).count()).toBe(0);
    expect(await page.getByLabel('Organization').inputValue()).toBe(b.orgId);
    expect(w.problemsOf(page)).toEqual([]);
  });

  it('can be used with the keyboard alone: sign in, move between pages, open a run', async () => {
    const u = await signupUser(w.t.app);
    const agentId = await makeAgent(w.t.app, u.auth, 'keys-only');
    const ingest = await w.t.app.inject({
      method: 'POST', url: '/v1/ingest/batch', headers: u.auth,
      payload: { executions: [{ clientId: 'kb-1', agentId, status: 'completed' }] },
    });
    expect(ingest.json().rejected, ingest.body).toBe(0);
    const page = await w.newPage();
    await page.goto(`${w.base}/console/`);
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
    expect(w.problemsOf(page)).toEqual([]);
  });

  it('fits a 390-pixel phone screen and every control has a label', async () => {
    const u = await signupUser(w.t.app);
    const page = await w.newPage(390, 844);
    await w.signIn(page, u);
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

describe('how the console is served', () => {
  it('a page path answers the app with a strict CSP; files are cached by hash; a missing file is 404', async () => {
    const page = await w.t.app.inject({ method: 'GET', url: '/console/api-keys' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['content-security-policy']).not.toContain('unsafe-inline');
    expect(page.headers['cache-control']).toBe('no-cache');
    expect(page.headers['x-frame-options']).toBe('DENY');
    // no inline script at all: every script is a file of the console's own origin
    expect(page.body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    const js = /src="(\/console\/assets\/[^"]+\.js)"/.exec(page.body)![1]!;
    const asset = await w.t.app.inject({ method: 'GET', url: js });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(asset.headers['cache-control']).toContain('immutable');
    const again = await w.t.app.inject({ method: 'GET', url: js, headers: { 'if-none-match': String(asset.headers.etag) } });
    expect(again.statusCode).toBe(304);
    const missing = await w.t.app.inject({ method: 'GET', url: '/console/assets/nope.js' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('route_not_found');
    const traversal = await w.t.app.inject({ method: 'GET', url: '/console/..%2f..%2fpackage.json' });
    expect(traversal.statusCode).toBe(404);
    const bare = await w.t.app.inject({ method: 'GET', url: '/console' });
    expect(bare.statusCode).toBe(302);
    expect(bare.headers.location).toBe('/console/');
  });
});
