// First run for real: `npm start` as a child process with a fresh DATA_DIR, no SMTP_URL and no BOOTSTRAP_API_KEY.
// The printed key works, the newsletter lands in DATA_DIR/outbox/<id>.eml, its links and pixel work, SIGTERM
// shuts down cleanly (exit 0, no PostgreSQL left), and a second start on the same DATA_DIR prints no new key.
import fs from 'node:fs';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupBeaconProcesses, isAlive, makeDataDir, postgresPidFor, runCli, startBeaconProcess, waitUntil, type BeaconProcess } from './helpers/beacon-process.js';
import { hrefsOf, trackedDestination } from './helpers/html-links.js';

const FIXTURES = path.resolve(import.meta.dirname, '../../shared/fixtures/emails');
const NEWSLETTER = fs.readFileSync(path.join(FIXTURES, 'inlined-newsletter.html'), 'utf8');
const BROWSER = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';

afterAll(cleanupBeaconProcesses);

describe('npm start in outbox mode (first run)', () => {
  const dataDir = makeDataDir('beacon-outbox-');
  let beacon: BeaconProcess;
  let messageId: number;
  let firstKey: string;

  const api = (p: string, init: RequestInit = {}) =>
    fetch(`${beacon.url}${p}`, { ...init, headers: { authorization: `Bearer ${firstKey}`, 'content-type': 'application/json', ...init.headers } });

  it('prints the first-run banner with an API key that authenticates', async () => {
    beacon = await startBeaconProcess({ via: 'npm', dataDir, apiKey: null });
    expect(beacon.output()).toContain('Mail goes: to the local outbox, ' + path.join(dataDir, 'outbox'));
    expect(beacon.printedKey).toMatch(/^bk_[A-Za-z0-9_-]{20,}$/);
    firstKey = beacon.printedKey!;
    expect(beacon.lines.filter((l) => l.includes('API key (shown once'))).toHaveLength(1);
    expect((await api('/api/metrics/daily')).status).toBe(200);
    const wrong = await fetch(`${beacon.url}/api/metrics/daily`, { headers: { authorization: `Bearer ${firstKey}x` } });
    expect(wrong.status).toBe(401);
  });

  it('writes the newsletter to DATA_DIR/outbox/<id>.eml with working tracking links and pixel', async () => {
    const res = await api('/api/messages', {
      method: 'POST',
      body: JSON.stringify({ from: 'Beacon News <news@example.com>', to: 'reader@example.com', subject: 'Hello from Beacon', html: NEWSLETTER }),
    });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { id: number; status: string };
    expect(body.status).toBe('queued');
    messageId = body.id;

    const eml = path.join(dataDir, 'outbox', `${messageId}.eml`);
    await waitUntil(() => fs.existsSync(eml), 20_000, `${eml} to appear`);
    const parsed = await simpleParser(fs.readFileSync(eml));
    expect(parsed.subject).toBe('Hello from Beacon');
    expect(parsed.to && !Array.isArray(parsed.to) ? parsed.to.text : '').toBe('reader@example.com');
    const html = String(parsed.html);

    const before = hrefsOf(NEWSLETTER);
    const after = hrefsOf(html);
    expect(after).toHaveLength(before.length);
    let webLinks = 0;
    for (const [i, original] of before.entries()) {
      if (!/^https?:\/\//i.test(original)) {
        expect(after[i]).toBe(original);
        continue;
      }
      webLinks++;
      expect(after[i]!.startsWith(`http://localhost:${beacon.port}/api/track/click?`)).toBe(true);
      expect(trackedDestination(after[i]!)).toBe(original);
      // HEAD: checks the redirect without recording a click (clicking every link at once is what scanners do).
      const check = await fetch(after[i]!, { method: 'HEAD', redirect: 'manual', headers: { 'user-agent': BROWSER } });
      expect(check.status).toBe(302);
      expect(check.headers.get('location')).toBe(original);
    }
    expect(webLinks).toBeGreaterThan(0);
    // A person clicks once, later than a link scanner would (3 s after delivery).
    await new Promise((r) => setTimeout(r, 3_100));
    const firstLink = after.find((h) => trackedDestination(h) !== undefined)!;
    const click = await fetch(firstLink, { redirect: 'manual', headers: { 'user-agent': BROWSER } });
    expect(click.status).toBe(302);
    expect(click.headers.get('location')).toBe(trackedDestination(firstLink));

    const pixels = [...html.matchAll(/<img [^>]*src="([^"]*\/api\/track\/open\?[^"]*)"/g)].map((m) => m[1]!.replaceAll('&amp;', '&'));
    expect(pixels).toHaveLength(1);
    const pixel = await fetch(pixels[0]!, { headers: { 'user-agent': BROWSER } });
    expect(pixel.status).toBe(200);
    expect(pixel.headers.get('content-type')).toBe('image/gif');
    expect(Buffer.from(await pixel.arrayBuffer())).toHaveLength(43);

    const view = (await (await api(`/api/messages/${messageId}`)).json()) as Record<string, unknown>;
    expect(view).toMatchObject({ id: messageId, status: 'sent', to: 'reader@example.com', openCount: 1, clickCount: 1, lastError: null });
    expect(typeof view.sentAt).toBe('string');
    expect(typeof view.openedAt).toBe('string');
    expect(typeof view.clickedAt).toBe('string');

    const today = new Date().toISOString().slice(0, 10);
    const { days } = (await (await api(`/api/metrics/daily?from=${today}&to=${today}`)).json()) as { days: Array<Record<string, unknown>> };
    expect(days).toEqual([
      { date: today, sent: 1, failed: 0, opens: 1, uniqueOpens: 1, clicks: 1, uniqueClicks: 1, machineOpens: 0, machineClicks: 0 },
    ]);
    // The counters agree with the raw events (the CLI joins the running Beacon's database).
    const verify = await runCli(['metrics', 'verify'], { DATA_DIR: dataDir });
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
  });

  it('SIGTERM to Beacon: npm start exits 0 and no PostgreSQL is left for the DATA_DIR', async () => {
    const pg = postgresPidFor(dataDir);
    expect(pg).toBeDefined();
    beacon.killBeacon('SIGTERM');
    expect(await beacon.exited).toEqual({ code: 0, signal: null });
    expect(isAlive(beacon.beaconPid)).toBe(false);
    expect(postgresPidFor(dataDir)).toBeUndefined();
    expect(isAlive(pg!)).toBe(false);
    expect(fs.existsSync(path.join(dataDir, 'beacon.pid'))).toBe(false);
  });

  it('a second npm start on the same DATA_DIR prints no new key, and the first key and message are still there', async () => {
    beacon = await startBeaconProcess({ via: 'npm', dataDir, apiKey: null });
    expect(beacon.printedKey).toBeUndefined();
    const view = (await (await api(`/api/messages/${messageId}`)).json()) as Record<string, unknown>;
    expect(view).toMatchObject({ id: messageId, status: 'sent', openCount: 1 });
    beacon.killBeacon('SIGTERM');
    expect(await beacon.exited).toEqual({ code: 0, signal: null });
    expect(beacon.output()).not.toContain('API key (shown once');
    expect(postgresPidFor(dataDir)).toBeUndefined();
  });

  // npm runs the start script through `sh -c` and signals that shell: without `exec` in the script, the shell
  // died and Beacon ran on orphaned (no drain, PostgreSQL still up).
  it('SIGTERM to npm itself (docker stop / a process manager) reaches Beacon, which drains and exits', async () => {
    beacon = await startBeaconProcess({ via: 'npm', dataDir, apiKey: null });
    beacon.kill('SIGTERM');
    await beacon.exited;
    await waitUntil(() => !isAlive(beacon.beaconPid) && postgresPidFor(dataDir) === undefined, 10_000, 'Beacon and its PostgreSQL to stop');
  });
});
