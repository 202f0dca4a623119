import { describe, expect, it } from 'vitest';
import { rewriteTextLinks } from './text-links.js';

const wrap = (d: string) => `<${d}>`;

describe('rewriteTextLinks', () => {
  it.each([
    ['Read https://example.com/a?b=1&c=2 today.', 'Read <https://example.com/a?b=1&c=2> today.'],
    ['(see https://example.com/wiki/Foo_(bar)) and more', '(see <https://example.com/wiki/Foo_(bar)>) and more'],
    ['Link: https://example.com/x, then http://example.org/y!', 'Link: <https://example.com/x>, then <http://example.org/y>!'],
    ['Café: https://example.com/café', 'Café: <https://example.com/caf%C3%A9>'],
    ['[https://example.com/z]', '[<https://example.com/z>]'],
  ])('%j', (input, expected) => {
    expect(rewriteTextLinks(input, wrap).text).toBe(expected);
  });

  it('leaves mail, placeholders and non-web text alone', () => {
    const text = 'Write to help@example.com, unsubscribe: *|UNSUB|* or {{unsubscribe_url}}; ftp://example.com/x; https://{{domain}}/x';
    expect(rewriteTextLinks(text, wrap)).toEqual({ text, trackedLinks: 0 });
  });

  it('counts what it tracked', () => {
    expect(rewriteTextLinks('a https://a.example b https://b.example', wrap).trackedLinks).toBe(2);
  });
});
