// Flags tracking hits that machines made (scanners, prefetchers, bots) so they are counted apart, not dropped.
import { isbot } from 'isbot';

/**
 * Image proxies that fetch when a person opens the mail: isbot calls them bots, but dropping them would
 * hide most Gmail opens. Yahoo's and Apple's proxies are left to isbot's judgement for now.
 */
const HUMAN_PROXIES = /GoogleImageProxy/i;

/**
 * `machine` for `HEAD` requests (link scanners check without following), a missing or empty user agent,
 * or a known bot user agent. `reason` names the rule that matched, for the event row and the logs.
 */
export function classifyRequest(input: { userAgent: string | undefined; method: string }): {
  machine: boolean;
  reason: string | undefined;
} {
  if (input.method.toUpperCase() === 'HEAD') return { machine: true, reason: 'head-request' };
  const ua = input.userAgent?.trim() ?? '';
  if (ua === '') return { machine: true, reason: 'no-user-agent' };
  if (HUMAN_PROXIES.test(ua)) return { machine: false, reason: undefined };
  if (isbot(ua)) return { machine: true, reason: 'bot-user-agent' };
  return { machine: false, reason: undefined };
}
