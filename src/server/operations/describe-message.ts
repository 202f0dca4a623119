// One message as its account sees it: status and counters, and clicks per tracked link.
import type { Database } from '../../storage/db.js';
import { clicksByLink } from '../../storage/tracking-events.js';
import { getUsageLog, getUsageLogForSend, type UsageLogView } from '../../storage/usage-logs.js';
import { trackedDestinations } from '../../tracking/links.js';

export interface LinkView {
  url: string;
  /** Clicks by people. */
  clicks: number;
  /** 1 once the recipient (one per message) clicked it: the per-message share of the link's unique clicks. */
  uniqueClicks: number;
  machineClicks: number;
}

export type MessageView = Omit<UsageLogView, 'from'> & { links: LinkView[] };

export async function describeMessage(db: Database, accountId: number, id: number): Promise<MessageView | undefined> {
  const log = await getUsageLog(db.pool, accountId, id);
  if (log === undefined) return undefined;
  const [content, clicks] = await Promise.all([getUsageLogForSend(db.pool, id), clicksByLink(db.pool, id)]);
  const byUrl = new Map(clicks.map((c) => [c.url, c]));
  // Every link the message tracks, clicked or not, in document order; then anything clicked that is not there.
  const text = content?.trackTextLinks ? (content.text ?? undefined) : undefined;
  const urls = new Set(content?.trackClicks ? trackedDestinations(content.html, text) : []);
  for (const c of clicks) urls.add(c.url);
  const links = [...urls].map((url) => {
    const c = byUrl.get(url);
    return { url, clicks: c?.clicks ?? 0, uniqueClicks: (c?.clicks ?? 0) > 0 ? 1 : 0, machineClicks: c?.machineClicks ?? 0 };
  });
  const { from: _from, ...view } = log;
  return { ...view, links };
}
