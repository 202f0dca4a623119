// Rewrites the links of an email's HTML part into click-tracking redirects and adds the open pixel.
//
// Changes are spliced into the original string at offsets given by the tokenizer (see html-scan.ts), so
// every byte that is not a rewritten href value, a removed `data-beacon-track` attribute or the pixel stays
// exactly as written: comments, conditional comments, whitespace, attribute order, quoting, entities.
import { decideHref } from './destination.js';
import { locateValue, scanHtml, whitespaceBefore, type ScannedStartTag, type ScanResult } from './html-scan.js';

export interface RewriteOptions {
  trackClicks: boolean;
  /** The signed pixel URL (see buildOpenUrl); undefined when opens are not tracked. */
  openPixelUrl: string | undefined;
  /** Turns a destination into its signed click URL (see buildClickUrl). */
  clickUrl: (destination: string) => string;
}

export interface RewriteResult {
  html: string;
  /** How many hrefs were rewritten. */
  trackedLinks: number;
  /** For the sender to log; the message is sent regardless. */
  warnings: string[];
}

interface Edit {
  start: number;
  end: number;
  text: string;
}

/** The per-link opt-out attribute; Beacon's own markup, so removed from what recipients get. */
const OPT_OUT_ATTR = 'data-beacon-track';
// Link-like elements inside Outlook conditional comments (VML <v:roundrect href>, …); not resources.
const NOT_LINKS = new Set(['link', 'base']);
const CONDITIONAL_OPEN = /^<!--\[if[^\]]*\]>/i;
const CONDITIONAL_CLOSE = '<![endif]';

function escapeAttribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** The `<img>` for `openPixelUrl`: sized 1×1 rather than `display:none`, which some clients skip. */
export function pixelTag(openPixelUrl: string): string {
  return `<img src="${escapeAttribute(openPixelUrl)}" width="1" height="1" alt="" style="display:block;width:1px;height:1px;border:0">`;
}

/**
 * Returns `html` with every absolute http(s) `<a href>`/`<area href>` (and href inside Outlook conditional
 * comments) replaced by `clickUrl(destination)`, and the pixel before the last `</body>` (or appended).
 * `data-beacon-track` attributes are always removed; `="off"` also leaves that link untracked.
 * Never throws: on any failure it returns `html` unchanged, no pixel, and a warning.
 */
export function rewriteHtml(html: string, options: RewriteOptions): RewriteResult {
  try {
    return rewrite(html, options);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    return { html, trackedLinks: 0, warnings: [`tracking skipped, message sent unchanged: ${reason}`] };
  }
}

function rewrite(html: string, options: RewriteOptions): RewriteResult {
  const edits: Edit[] = [];
  const warnings: string[] = [];
  let trackedLinks = 0;

  const visit = (source: string, offset: number, tag: ScannedStartTag): void => {
    const optOut = tag.attrs.find((a) => a.name === OPT_OUT_ATTR);
    if (optOut) edits.push({ start: offset + whitespaceBefore(source, optOut.start), end: offset + optOut.end, text: '' });
    if (!options.trackClicks || optOut?.value.trim().toLowerCase() === 'off') return;

    const href = tag.attrs.find((a) => a.name === 'href');
    if (!href) return;
    const decision = decideHref(href.value);
    if (!decision.track) {
      if (/^\s*https?:/i.test(href.value) && decision.reason === 'not an absolute http(s) URL') {
        warnings.push(`link left untracked, not a valid URL: ${href.value.slice(0, 200)}`);
      }
      return;
    }
    const raw = locateValue(source, href);
    if (!raw) {
      warnings.push(`link left untracked, could not locate its href: ${href.value.slice(0, 200)}`);
      return;
    }
    const text = escapeAttribute(options.clickUrl(decision.destination));
    // An unquoted value gains double quotes: the tracking URL's `&amp;` and `=` are safest quoted.
    const value = raw.quote === '' ? `"${text}"` : text;
    edits.push({ start: offset + raw.start, end: offset + raw.end, text: value });
    trackedLinks++;
  };

  const scan = scanHtml(html);
  for (const tag of scan.startTags) {
    if (tag.tagName === 'a' || tag.tagName === 'area') visit(html, 0, tag);
  }
  // The tokenizer sees Outlook-only markup as comment text: tokenize it again, offset into the document.
  for (const comment of scan.comments) {
    const inner = conditionalContent(html, comment.start, comment.end);
    if (inner === undefined) continue;
    const source = html.slice(inner.start, inner.end);
    for (const tag of scanHtml(source).startTags) {
      if (!NOT_LINKS.has(tag.tagName)) visit(source, inner.start, tag);
    }
  }

  if (options.openPixelUrl !== undefined) {
    const bodyEnd = scan.bodyEnds.at(-1);
    const pixel = bodyEnd === undefined ? trailingPixel(html, scan, options.openPixelUrl, warnings) : pixelTag(options.openPixelUrl);
    const at = bodyEnd ?? html.length;
    if (pixel !== undefined) edits.push({ start: at, end: at, text: pixel });
  }
  return { html: applyEdits(html, edits), trackedLinks, warnings };
}

/**
 * The pixel appended to a document with no `</body>`. Broken HTML can swallow it (an unterminated comment, an
 * unclosed `<script>` or `<textarea>`): a dangling comment is closed first, and the result is checked by
 * tokenizing it, so a pixel that would not load is left out with a warning rather than sent as dead text.
 */
function trailingPixel(html: string, scan: ScanResult, openPixelUrl: string, warnings: string[]): string | undefined {
  let text = pixelTag(openPixelUrl);
  const last = scan.comments.at(-1);
  // parse5 puts the end of a comment cut off by EOF one past the last character.
  if (last !== undefined && last.end >= html.length && !html.endsWith('-->')) {
    text = `-->${text}`;
    warnings.push('the HTML ends inside an unterminated comment; closed it so the open pixel can load');
  }
  const loads = scanHtml(html + text).startTags.some((t) => t.tagName === 'img' && t.attrs.some((a) => a.name === 'src' && a.start >= html.length));
  if (loads) return text;
  warnings.push('open tracking skipped: the HTML ends inside an element whose content is not markup (script, style, textarea, …)');
  return undefined;
}

/** The markup between `<!--[if …]>` and `<![endif]-->`, or undefined for a plain comment. */
function conditionalContent(html: string, start: number, end: number): { start: number; end: number } | undefined {
  const raw = html.slice(start, end);
  const open = CONDITIONAL_OPEN.exec(raw);
  if (!open || !raw.endsWith('-->')) return undefined;
  const close = raw.lastIndexOf(CONDITIONAL_CLOSE);
  const innerEnd = close >= open[0].length ? close : raw.length - 3;
  return { start: start + open[0].length, end: start + innerEnd };
}

function applyEdits(html: string, edits: Edit[]): string {
  // Stable sort keeps the pixel after an edit ending at the same offset.
  const sorted = [...edits].sort((a, b) => a.start - b.start);
  let out = '';
  let cursor = 0;
  for (const edit of sorted) {
    if (edit.start < cursor) throw new Error(`overlapping edits at offset ${edit.start}`);
    out += html.slice(cursor, edit.start) + edit.text;
    cursor = edit.end;
  }
  return out + html.slice(cursor);
}
