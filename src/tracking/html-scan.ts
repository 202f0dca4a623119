// Tokenizes HTML once and reports start tags, comments and end tags with their exact offsets in the source.
//
// Why parse5-sax-parser: it is parse5's WHATWG-conformant tokenizer (the one browsers' behaviour is specified
// by), so an href is read exactly as a mail client reads it: any quoting, any case, entities decoded once,
// `<a>` inside <script>/<style>/<textarea> or comments not mistaken for links. With `sourceCodeLocationInfo`
// it gives every attribute's start/end offset, so callers splice changes into the original string and every
// other byte survives; a tree parser (parse5.parse) would re-serialise and lose comments, quoting and spacing.
import type { Token } from 'parse5';
import { SAXParser } from 'parse5-sax-parser';

/** One attribute: the tokenizer's decoded value, and where its raw text sits in the source. */
export interface ScannedAttr {
  /** Lowercased name. */
  name: string;
  /** Entities decoded once. */
  value: string;
  /** Offsets of `name[=value]` in the scanned string, end exclusive. */
  start: number;
  end: number;
}

export interface ScannedStartTag {
  tagName: string;
  attrs: ScannedAttr[];
}

export interface Span {
  start: number;
  end: number;
}

export interface ScanResult {
  startTags: ScannedStartTag[];
  comments: Span[];
  /** Start offsets of `</body>` end tags, in document order. */
  bodyEnds: number[];
}

/** The SAX parser is a stream; driving its tokenizer directly makes the scan synchronous and complete. */
class SyncSaxParser extends SAXParser {
  scan(html: string): void {
    this.tokenizer.write(html, true);
  }
}

export function scanHtml(html: string): ScanResult {
  const result: ScanResult = { startTags: [], comments: [], bodyEnds: [] };
  const parser = new SyncSaxParser({ sourceCodeLocationInfo: true });
  parser.on('startTag', (tag) => {
    // Start tags carry attribute locations; the SAX typings only declare the base Location.
    const locations = (tag.sourceCodeLocation as Token.LocationWithAttributes | null | undefined)?.attrs ?? {};
    const attrs: ScannedAttr[] = [];
    for (const attr of tag.attrs) {
      const location = locations[attr.name];
      if (location) attrs.push({ name: attr.name, value: attr.value, start: location.startOffset, end: location.endOffset });
    }
    result.startTags.push({ tagName: tag.tagName, attrs });
  });
  parser.on('comment', (comment) => {
    const location = comment.sourceCodeLocation;
    if (location) result.comments.push({ start: location.startOffset, end: location.endOffset });
  });
  parser.on('endTag', (tag) => {
    const location = tag.sourceCodeLocation;
    if (tag.tagName === 'body' && location) result.bodyEnds.push(location.startOffset);
  });
  parser.scan(html);
  return result;
}

/** Where an attribute's value sits inside its raw `name[=value]` text. */
export interface RawValue {
  /** Offsets of the value without its quotes. */
  start: number;
  end: number;
  /** `"`, `'`, or `''` when unquoted. */
  quote: '"' | "'" | '';
}

const WHITESPACE = /[\t\n\f\r ]/;

/** Finds the value of `attr` in `source`; undefined for a bare attribute (`<a href>`). */
export function locateValue(source: string, attr: ScannedAttr): RawValue | undefined {
  // The raw name has the same length as the lowercased one: the tokenizer only folds ASCII case.
  let i = attr.start + attr.name.length;
  while (i < attr.end && WHITESPACE.test(source.charAt(i))) i++;
  if (source.charAt(i) !== '=') return undefined;
  i++;
  while (i < attr.end && WHITESPACE.test(source.charAt(i))) i++;
  const first = source.charAt(i);
  if (first === '"' || first === "'") {
    if (attr.end - 1 <= i || source.charAt(attr.end - 1) !== first) return undefined;
    return { start: i + 1, end: attr.end - 1, quote: first };
  }
  return { start: i, end: attr.end, quote: '' };
}

/** The offset where the whitespace before `offset` begins. */
export function whitespaceBefore(source: string, offset: number): number {
  let i = offset;
  while (i > 0 && WHITESPACE.test(source.charAt(i - 1))) i--;
  return i;
}
