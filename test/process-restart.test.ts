// Restarts of the real binary on one DATA_DIR: what was queued at SIGTERM is sent exactly once after the restart
// (nothing lost, nothing doubled), sends cut off by the shutdown grace are released and sent again, and a Beacon
// that was SIGKILLed (its PostgreSQL orphaned) comes back up with its data.
import { afterAll, describe, expect, it } from 'vitest';
import {
  cleanupBeaconProcesses,
  isAlive,
  makeDataDir,
  postgresPidFor,
  startBeaconProcess,
  waitUntil,
  type BeaconProcess,
} from './helpers/beacon-process.js';
import { duplicates, startDelayedSmtpSink, type DelayedSink } from './helpers/delayed-smtp-sink.js';

const sinks: DelayedSink[] = [];
afterAll(async () => {
  await cleanupBeaconProcesses();
  await Promise.all(sinks.map((s) => s.close()));
});

async function sink(delayMs: number): Promise<DelayedSink> {
  const s = await startDelayedSmtpSink(delayMs);
  sinks.push(s);
  return s;
}

function api(beacon: BeaconProcess, p: string, init: RequestInit = {}) {
  return fetch(`${beacon.url}${p}`, {
    ...init,
    headers: { authorization: `Bearer ${beacon.apiKey!}`, 'content-type': 'application/json', ...init.headers },
  });
}

async function enqueue(beacon: BeaconProcess, count: number, tag: string): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < count; i++) {
    const res = await api(beacon, '/api/messages', {
      method: 'POST',
      body: JSON.stringify({
        from: 'Restart <restart@example.com>',
        to: `${tag}-${i}@example.com`,
        subject: `${tag} ${i}`,
        html: `<p>Message ${i} <a href="https://example.com/${tag}/${i}">link</a></p>`,
      }),
    });
    expect(res.status).toBe(202);
    ids.push(((await res.json()) as { id: number }).id);
  }
  return ids;
}

async function statuses(beacon: BeaconProcess, ids: number[]): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const id of ids) {
    const { status } = (await (await api(beacon, `/api/messages/${id}`)).json()) as { status: string };
    counts[status] = (counts[status] ?? 0) + 1;
  }
  return counts;
}

/** Polls the API until every log has reached `status`; returns the final counts either way. */
async function settle(beacon: BeaconProcess, ids: number[], status: string, timeoutMs = 20_000): Promise<Record<string, number>> {
  let counts: Record<string, number> = {};
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; ) {
    counts = await statuses(beacon, ids);
    if (counts[status] === ids.length) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return counts;
}

async function stop(beacon: BeaconProcess): Promise<void> {
  beacon.kill('SIGTERM');
  expect(await beacon.exited).toEqual({ code: 0, signal: null });
  expect(postgresPidFor(beacon.dataDir)).toBeUndefined();
}

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

describe('restart on the same DATA_DIR', () => {
  it('messages queued by a web-only Beacon stopped with SIGTERM are each sent exactly once after a restart', async () => {
    const dataDir = makeDataDir('beacon-restart-');
    const smtp = await sink(0);
    const web = await startBeaconProcess({ dataDir, env: { ROLE: 'web', SMTP_URL: smtp.url, LOG_LEVEL: 'warn' } });
    const ids = await enqueue(web, 30, 'queued');
    expect(await statuses(web, ids)).toEqual({ queued: 30 });
    await stop(web);
    expect(smtp.received).toEqual([]);

    const all = await startBeaconProcess({ dataDir, env: { ROLE: 'all', SMTP_URL: smtp.url, LOG_LEVEL: 'warn' } });
    await waitUntil(() => smtp.accepted.length >= 30, 30_000, '30 messages at the SMTP sink');
    expect(await settle(all, ids, 'sent')).toEqual({ sent: 30 });
    // Once the process has exited nothing more can arrive: the counts below are final.
    await stop(all);
    expect(duplicates(smtp.received)).toEqual({});
    expect(sorted(smtp.accepted)).toEqual(sorted(ids));
  });

  it('SIGTERM while sends are in flight: they finish within the grace period, the rest go after the restart, each once', async () => {
    const dataDir = makeDataDir('beacon-restart-');
    const smtp = await sink(400);
    const first = await startBeaconProcess({ dataDir, env: { SMTP_URL: smtp.url, WORKER_CONCURRENCY: '5', LOG_LEVEL: 'info' } });
    const ids = await enqueue(first, 40, 'inflight');
    await waitUntil(() => smtp.received.length >= 6, 30_000, 'sends to be in flight');
    first.kill('SIGTERM');
    expect(await first.exited).toEqual({ code: 0, signal: null });
    expect(postgresPidFor(dataDir)).toBeUndefined();
    // The grace period (10 s default) covers a 400 ms SMTP reply: nothing was cut off, and something was left queued.
    expect(smtp.abandoned).toEqual([]);
    expect(smtp.accepted.length).toBe(smtp.received.length);
    const beforeRestart = smtp.accepted.length;
    expect(beforeRestart).toBeLessThan(40);
    const stopped = first.logs().find((l) => l.msg === 'Worker stopped');
    expect(stopped?.released).toBe(0);

    smtp.delayMs = 0;
    const second = await startBeaconProcess({ dataDir, env: { SMTP_URL: smtp.url, LOG_LEVEL: 'warn' } });
    await waitUntil(() => smtp.accepted.length >= 40, 30_000, 'all 40 messages at the SMTP sink');
    expect(await settle(second, ids, 'sent')).toEqual({ sent: 40 });
    await stop(second);
    expect(duplicates(smtp.received)).toEqual({});
    expect(sorted(smtp.accepted)).toEqual(sorted(ids));
  });

  it('SIGTERM with sends stuck past a short grace: they are released unaccepted and sent once after the restart', async () => {
    const dataDir = makeDataDir('beacon-restart-');
    const smtp = await sink(5_000);
    const first = await startBeaconProcess({
      dataDir,
      env: { SMTP_URL: smtp.url, WORKER_CONCURRENCY: '5', SHUTDOWN_GRACE_MS: '200', LOG_LEVEL: 'info' },
    });
    const ids = await enqueue(first, 10, 'stuck');
    await waitUntil(() => smtp.received.length >= 5, 30_000, 'five sends waiting for the 250');
    const t0 = Date.now();
    first.kill('SIGTERM');
    expect(await first.exited).toEqual({ code: 0, signal: null });
    // It did not wait for the SMTP server's 5 s.
    expect(Date.now() - t0).toBeLessThan(4_500);
    expect(postgresPidFor(dataDir)).toBeUndefined();
    const stopped = first.logs().find((l) => l.msg === 'Worker stopped');
    expect(stopped?.released).toBe(5);
    // Wait for the sink to give up on those connections (its reply timer), so accepted/abandoned are settled.
    await waitUntil(() => smtp.abandoned.length + smtp.accepted.length >= smtp.received.length, 10_000, 'the sink to settle');
    expect(smtp.accepted).toEqual([]);
    const cut = [...smtp.received];

    smtp.delayMs = 0;
    const second = await startBeaconProcess({ dataDir, env: { SMTP_URL: smtp.url, LOG_LEVEL: 'warn' } });
    await waitUntil(() => smtp.accepted.length >= 10, 60_000, 'all 10 messages at the SMTP sink');
    expect(await settle(second, ids, 'sent')).toEqual({ sent: 10 });
    await stop(second);
    expect(duplicates(smtp.accepted)).toEqual({});
    expect(sorted(smtp.accepted)).toEqual(sorted(ids));
    // The cut-off ones were received twice (DATA without a 250, then again): SMTP's at-least-once, never accepted twice.
    expect(sorted(Object.keys(duplicates(smtp.received)).map(Number))).toEqual(sorted(cut));
  });

  it('after a SIGKILL the orphaned PostgreSQL is stopped and Beacon comes back up with its data', async () => {
    const dataDir = makeDataDir('beacon-restart-');
    const first = await startBeaconProcess({ dataDir, env: { LOG_LEVEL: 'info' } });
    const [id] = await enqueue(first, 1, 'killed');
    expect(await settle(first, [id!], 'sent')).toEqual({ sent: 1 });

    const orphan = postgresPidFor(dataDir);
    expect(orphan).toBeDefined();
    first.kill('SIGKILL');
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
    // The postmaster outlives Beacon (its own process group): this is the orphan the next start must deal with.
    expect(postgresPidFor(dataDir)).toBe(orphan);

    const second = await startBeaconProcess({ dataDir, env: { LOG_LEVEL: 'info' } });
    expect(second.output()).not.toMatch(/lock file .* already exists/);
    const warning = second.logs().find((l) => String(l.msg).includes('left running by a Beacon that did not shut down'));
    expect(warning).toMatchObject({ postmasterPid: orphan });
    expect(isAlive(orphan!)).toBe(false);
    expect(postgresPidFor(dataDir)).not.toBe(orphan);
    const view = (await (await api(second, `/api/messages/${id!}`)).json()) as Record<string, unknown>;
    expect(view).toMatchObject({ id, status: 'sent', subject: 'killed 0' });
    await stop(second);
  });

  it('sends cut off by a SIGKILL are recovered from the dead worker after the restart and accepted once; nothing queued is lost', async () => {
    const dataDir = makeDataDir('beacon-restart-');
    const smtp = await sink(5_000);
    const first = await startBeaconProcess({ dataDir, env: { SMTP_URL: smtp.url, WORKER_CONCURRENCY: '5', LOG_LEVEL: 'warn' } });
    const ids = await enqueue(first, 12, 'sigkill');
    await waitUntil(() => smtp.received.length >= 5, 30_000, 'five sends waiting for the 250');
    first.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    await waitUntil(() => smtp.abandoned.length + smtp.accepted.length >= smtp.received.length, 10_000, 'the sink to settle');
    expect(smtp.accepted).toEqual([]);

    smtp.delayMs = 0;
    const second = await startBeaconProcess({ dataDir, env: { SMTP_URL: smtp.url, LOG_LEVEL: 'warn' } });
    // The 7 never claimed go at once; the 5 leased to the killed worker once its heartbeat is stale (10 s).
    await waitUntil(() => smtp.accepted.length >= 12, 45_000, 'all 12 messages at the SMTP sink');
    expect(await settle(second, ids, 'sent')).toEqual({ sent: 12 });
    await stop(second);
    expect(duplicates(smtp.accepted)).toEqual({});
    expect(sorted(smtp.accepted)).toEqual(sorted(ids));
  });
});
