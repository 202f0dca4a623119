// A ~110 KB newsletter made of the real fixtures' bodies, for render tests and benchmarks.
import fs from 'node:fs';
import path from 'node:path';

/**
 * The cerberus-hybrid template (Outlook conditional comments, VML, ghost tables) with the other fixtures'
 * bodies and extra link-rich sections spliced before its </body>, until it passes 110 KB. Real markup, not lorem.
 */
export function largeNewsletter(fixtures: string): string {
  const read = (f: string) => fs.readFileSync(path.join(fixtures, f), 'utf8');
  const base = read('cerberus-hybrid.html');
  const bodyOf = (doc: string) => /<body[^>]*>([\s\S]*)<\/body>/i.exec(doc)?.[1] ?? doc;
  const sections = [bodyOf(read('inlined-newsletter.html')), bodyOf(read('merge-tag-newsletter.html'))];
  let extra = '';
  for (let i = 0; Buffer.byteLength(base) + Buffer.byteLength(extra) < 110 * 1024; i++) {
    extra += sections[i % sections.length];
    extra += `<p><a href="https://example.com/article/${i}?utm_source=newsletter&amp;utm_medium=email&amp;utm_campaign=dec">Read article ${i}</a>` +
      ` · <a href="https://example.com/caf%C3%A9/${i}">café</a> · <a href="#top">top</a></p>\n`;
  }
  const at = base.toLowerCase().lastIndexOf('</body>');
  return base.slice(0, at) + extra + base.slice(at);
}
