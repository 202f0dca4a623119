// The dashboard in a real browser (playwright-core driving Debian's Chromium) against a real Beacon process:
// sign in, send with the CLI, find the message, open its preview, watch the overview move when the pixel is fetched.
import fs from 'node:fs';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupBeaconProcesses, REPO_ROOT, runCli, startBeaconProcess, waitUntil, type BeaconProcess } from './helpers/beacon-process.js';
import { hrefsOf, trackedDestination } from './helpers/html-links.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const RESULTS = path.join(REPO_ROOT, 'test-results');
const README_IMAGE = path.join(REPO_ROOT, 'docs/overview.png');
const PERSON = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';

let beacon: BeaconProcess;
let browser: Browser;
let ids: number[] = [];

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run does this)`);
  beacon = await startBeaconProcess({ env: { LOG_LEVEL: 'warn' } });
  // Playwright gives every launch a fresh, temporary profile.
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

afterAll(async () => {
  await browser?.close();
  await cleanupBeaconProcesses();
});

async function signIn(page: Page, key: string): Promise<void> {
  await page.goto(`${beacon.url}/`);
  await expect.poll(() => new URL(page.url()).pathname).toBe('/login');
  await page.fill('#key', key);
  await page.click('button[type=submit]');
}

const stat = async (page: Page, name: string) => Number(await page.locator(`[data-stat="${name}"]`).first().innerText());

/** The .eml the worker wrote for `id` (outbox mode), parsed. */
async function sentMail(id: number) {
  const file = path.join(beacon.dataDir, 'outbox', `${id}.eml`);
  await waitUntil(() => fs.existsSync(file), 30_000, `${file}`);
  return simpleParser(fs.readFileSync(file));
}

/** A tracking URL from the mail, aimed at this Beacon (PUBLIC_URL says localhost; the process listens on 127.0.0.1). */
const here = (u: string) => `${beacon.url}${new URL(u).pathname}${new URL(u).search}`;

describe('dashboard in Chromium', () => {
  it('a wrong key shows a clear message and sets no session cookie', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, 'bk_this_is_not_a_key');
    await expect.poll(() => page.locator('[role=alert]').innerText()).toContain('That API key is not valid');
    expect((await context.cookies()).filter((c) => c.name === 'beacon_session')).toEqual([]);
    await context.close();
  });

  it('signs in, sends with the CLI, finds the message, opens its preview, sees the overview move after the pixel; screenshot', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const page = await context.newPage();
    await signIn(page, beacon.apiKey!);
    await expect.poll(() => new URL(page.url()).pathname).toBe('/');
    const session = (await context.cookies()).find((c) => c.name === 'beacon_session');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict', secure: false });
    await page.waitForSelector('html[data-chart="ready"]');
    expect(await stat(page, 'opens')).toBe(0);

    const html = path.join(beacon.dataDir, 'spring.html');
    fs.writeFileSync(html, '<h1>Spring edition</h1><p>Hello reader, <a href="https://example.com/spring">read the news</a>.</p>');
    const sent = await runCli(
      ['send', '--to', 'ann@example.com', '--to', 'bob@example.com', '--to', 'cat@example.com', '--from', 'News <news@example.com>', '--subject', 'Spring edition', '--html', html],
      { DATA_DIR: beacon.dataDir, LOG_LEVEL: 'warn' },
    );
    expect(sent.code, sent.stderr).toBe(0);
    ids = sent.stdout.trim().split('\n').map(Number);
    expect(ids).toHaveLength(3);
    const mails = await Promise.all(ids.map(sentMail));

    await page.click('nav >> text=Messages');
    await page.waitForSelector(`tr[data-id="${ids[0]}"]`);
    await expect.poll(() => page.locator(`tr[data-id="${ids[0]}"]`).innerText()).toMatch(/sent[\s\S]*ann@example\.com[\s\S]*Spring edition/);
    await page.click(`tr[data-id="${ids[0]}"] >> text=Spring edition`);
    await expect.poll(() => new URL(page.url()).pathname).toBe(`/messages/${ids[0]}`);
    const preview = page.frameLocator('iframe.preview');
    await expect.poll(() => preview.locator('h1').innerText()).toBe('Spring edition');
    // Inert: the preview links straight to the destination, not through the click tracker.
    expect(await preview.locator('a').getAttribute('href')).toBe('https://example.com/spring');
    const own = await context.newPage();
    await own.goto(`${beacon.url}/messages/${ids[0]}/preview`);
    expect(await own.locator('h1').innerText()).toBe('Spring edition');
    await own.close();

    // Two people open, one scanner fetches the pixel, one person clicks.
    const pixel = (m: (typeof mails)[number]) => here(/src="([^"]*\/api\/track\/open\?[^"]*)"/.exec(String(m.html).replaceAll('&amp;', '&'))![1]!);
    for (const [m, ua] of [[mails[0]!, PERSON], [mails[1]!, PERSON], [mails[2]!, 'curl/8.5.0']] as const) {
      const res = await fetch(pixel(m), { headers: { 'user-agent': ua } });
      expect(res.headers.get('content-type')).toBe('image/gif');
    }
    const click = hrefsOf(String(mails[0]!.html)).find((h) => trackedDestination(h) !== undefined)!;
    await new Promise((r) => setTimeout(r, 3_100)); // past the scanner window after sending
    expect((await fetch(here(click), { headers: { 'user-agent': PERSON }, redirect: 'manual' })).status).toBe(302);

    await page.click('nav >> text=Overview');
    await expect
      .poll(async () => {
        await page.reload();
        return [await stat(page, 'sent'), await stat(page, 'opens'), await stat(page, 'machineOpens'), await stat(page, 'clicks')];
      }, { timeout: 15_000 })
      .toEqual([3, 2, 1, 1]);
    await page.waitForSelector('html[data-chart="ready"]');
    fs.mkdirSync(RESULTS, { recursive: true });
    await page.screenshot({ path: path.join(RESULTS, 'overview.png'), fullPage: true });
    // The README's image changes only on purpose (`npm run screenshot`), not as a side effect of every test run.
    if (process.env.UPDATE_SCREENSHOT === '1') fs.copyFileSync(path.join(RESULTS, 'overview.png'), README_IMAGE);

    // The message page shows the open and the click.
    await page.goto(`${beacon.url}/messages/${ids[0]}`);
    expect(await page.locator('[data-stat="openCount"]').innerText()).toMatch(/^1 /);
    expect(await page.locator('[data-stat="clickCount"]').innerText()).toMatch(/^1 /);

    // First-run mode: the outbox lists the .eml files and renders one.
    await page.click('nav >> text=Outbox');
    await page.click(`text=${ids[1]}.eml`);
    await expect.poll(() => page.frameLocator('iframe.preview').locator('h1').innerText()).toBe('Spring edition');
    expect(await page.locator('pre').innerText()).toContain('Subject: Spring edition');

    // The queue page shows the finished send_email tasks.
    await page.click('nav >> text=Queue');
    expect(await page.locator('table').first().innerText()).toMatch(/send_email/);

    // Sign out (a CSRF-protected form): the session is gone and pages lead back to sign-in.
    await page.click('text=Sign out');
    await expect.poll(() => new URL(page.url()).pathname).toBe('/login');
    expect((await context.cookies()).filter((c) => c.name === 'beacon_session')).toEqual([]);
    await page.goto(`${beacon.url}/messages`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await context.close();
  });
});
