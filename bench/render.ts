// bench:render — rewriting a ~110 KB newsletter (links tracked, pixel added) against tokenizing it alone.
// Prints JSON lines: one per measured system, then the ratio. Usage: npm run bench:render [-- --rounds N]
import os from 'node:os';
import path from 'node:path';
import { SAXParser } from 'parse5-sax-parser';
import { rewriteHtml } from '../src/tracking/rewrite.js';
import { createSigner } from '../src/tracking/signature.js';
import { buildClickUrl, buildOpenUrl } from '../src/tracking/urls.js';
import { largeNewsletter } from './newsletter.js';

const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1]) || 200;
const html = largeNewsletter(path.resolve(import.meta.dirname, '../../shared/fixtures/emails'));
const signer = createSigner(['bench-render-secret-0123456789']);

/** The anchor: parse5's SAX tokenizer over the same document, doing nothing with the tokens. */
class SyncSax extends SAXParser {
  run(source: string): void {
    this.tokenizer.write(source, true);
  }
}
function tokenizeOnly(): number {
  let tags = 0;
  const parser = new SyncSax({ sourceCodeLocationInfo: true });
  parser.on('startTag', () => tags++);
  parser.run(html);
  return tags;
}
function rewrite(): number {
  return rewriteHtml(html, {
    trackClicks: true,
    openPixelUrl: buildOpenUrl('https://t.example.com', signer, 123456),
    clickUrl: (d) => buildClickUrl('https://t.example.com', signer, 123456, d),
  }).trackedLinks;
}

function measure(fn: () => number): number[] {
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const start = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return times;
}
const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;

// Warm both up, then interleave rounds so both see the same machine load.
for (let i = 0; i < 30; i++) {
  tokenizeOnly();
  rewrite();
}
const tokenizer: number[] = [];
const rewriter: number[] = [];
for (let r = 0; r < 10; r++) {
  tokenizer.push(...measure(tokenizeOnly));
  rewriter.push(...measure(rewrite));
}
const machine = `${os.cpus().length} cores, ${os.cpus()[0]?.model ?? 'unknown CPU'}, node ${process.version}`;
const line = (system: string, xs: number[], extra: object) =>
  console.log(JSON.stringify({ bench: 'render', system, bytes: Buffer.byteLength(html), p50Ms: +quantile(xs, 0.5).toFixed(3), p99Ms: +quantile(xs, 0.99).toFixed(3), ...extra, machine }));
line('parse5-tokenizer-only', tokenizer, { tags: tokenizeOnly() });
line('beacon-rewrite', rewriter, { trackedLinks: rewrite() });
console.log(JSON.stringify({ bench: 'render', ratios: { rewriteOverTokenizer: +(quantile(rewriter, 0.5) / quantile(tokenizer, 0.5)).toFixed(2) }, target: '<= 2.0' }));
