import { describe, expect, it } from 'vitest';
import { createSigner } from '../tracking/signature.js';
import { renderMessage, type Renderable } from './render.js';

const signer = createSigner(['render-test-secret-0123456789']);
const options = { publicUrl: 'https://t.example.com', signer };
const log = (over: Partial<Renderable> = {}): Renderable => ({
  id: 42,
  from: 'a@example.com',
  to: 'b@example.com',
  subject: 'Hi',
  html: '<html><body><a href="https://example.com/x?a=1&amp;b=2">x</a></body></html>',
  text: 'plain https://example.com/x',
  trackOpens: true,
  trackClicks: true,
  ...over,
});

describe('renderMessage', () => {
  it('rewrites links and adds the pixel, signed for this log', () => {
    const { message, trackedLinks } = renderMessage(log(), options);
    expect(trackedLinks).toBe(1);
    expect(message.html).toContain('href="https://t.example.com/api/track/click?url=https%3A%2F%2Fexample.com%2Fx%3Fa%3D1%26b%3D2&amp;logId=42&amp;sig=');
    expect(message.html).toMatch(/<img src="https:\/\/t\.example\.com\/api\/track\/open\?logId=42&amp;sig=[0-9a-f]{32}"[^>]*><\/body>/);
    expect(message).toMatchObject({ logId: 42, from: 'a@example.com', to: 'b@example.com', subject: 'Hi', text: 'plain https://example.com/x' });
  });

  it('honours the per-message switches', () => {
    expect(renderMessage(log({ trackOpens: false }), options).message.html).not.toContain('/api/track/open');
    const noClicks = renderMessage(log({ trackClicks: false }), options).message.html;
    expect(noClicks).toContain('href="https://example.com/x?a=1&amp;b=2"');
    expect(noClicks).toContain('/api/track/open');
    const neither = log({ trackOpens: false, trackClicks: false });
    expect(renderMessage(neither, options).message.html).toBe(neither.html);
  });
});

describe('plain-text links', () => {
  const text = 'Read https://example.com/x. Mail help@example.com';
  it('are left as they are unless the message asks for them', () => {
    expect(renderMessage(log({ text }), options).message.text).toBe(text);
  });
  it('are rewritten with trackTextLinks (and counted), never without trackClicks', () => {
    const { message, trackedLinks } = renderMessage(log({ text, trackTextLinks: true }), options);
    expect(message.text).toMatch(/^Read https:\/\/t\.example\.com\/api\/track\/click\?url=https%3A%2F%2Fexample\.com%2Fx&logId=42&sig=[0-9a-f]{32}\. Mail help@example\.com$/);
    expect(trackedLinks).toBe(2);
    expect(renderMessage(log({ text, trackTextLinks: true, trackClicks: false }), options).message.text).toBe(text);
  });
});
