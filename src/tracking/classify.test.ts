// Machine/human classification of tracking hits, including the Gmail image-proxy override.
import { describe, expect, it } from 'vitest';
import { classifyRequest } from './classify.js';

const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36';
const GMAIL_PROXY = 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)';

describe('classifyRequest', () => {
  it('treats a browser GET as human', () => {
    expect(classifyRequest({ userAgent: CHROME, method: 'GET' })).toEqual({ machine: false, reason: undefined });
  });

  it('flags HEAD (link scanners), a missing or empty user agent, and known bots', () => {
    expect(classifyRequest({ userAgent: CHROME, method: 'HEAD' }).machine).toBe(true);
    expect(classifyRequest({ userAgent: undefined, method: 'GET' }).machine).toBe(true);
    expect(classifyRequest({ userAgent: '  ', method: 'GET' }).machine).toBe(true);
    const bot = classifyRequest({ userAgent: 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)', method: 'GET' });
    expect(bot).toEqual({ machine: true, reason: 'bot-user-agent' });
    expect(classifyRequest({ userAgent: 'curl/8.5.0', method: 'GET' }).machine).toBe(true);
  });

  it("does not count Gmail's image proxy as a bot, though isbot does", async () => {
    const { isbot } = await import('isbot');
    expect(isbot(GMAIL_PROXY)).toBe(true);
    expect(classifyRequest({ userAgent: GMAIL_PROXY, method: 'GET' })).toEqual({ machine: false, reason: undefined });
  });
});
