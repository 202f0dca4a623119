// Server-rendered HTML for the dashboard: an escaping template tag and the page layout.

/** Marks a string as already-escaped HTML. */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

type Part = Html | string | number | boolean | null | undefined | readonly Part[];

function render(part: Part): string {
  if (part === null || part === undefined || part === false) return '';
  if (part instanceof Html) return part.value;
  if (Array.isArray(part)) return part.map(render).join('');
  return escapeHtml(String(part as string | number | boolean));
}

/** `html\`<p>${userText}</p>\``: every interpolation is escaped unless it is itself Html. */
export function html(strings: TemplateStringsArray, ...parts: Part[]): Html {
  let out = strings[0]!;
  parts.forEach((p, i) => (out += render(p) + strings[i + 1]!));
  return new Html(out);
}

export interface PageOptions {
  title: string;
  /** The signed-in account; absent on the sign-in page. */
  account?: string;
  csrf?: string;
  active?: 'overview' | 'messages' | 'queue' | 'outbox';
  showOutbox?: boolean;
  scripts?: string[];
  /** JSON handed to the page's script in a non-executable data block (no inline script under the CSP). */
  data?: unknown;
}

const nav: Array<[PageOptions['active'], string, string]> = [
  ['overview', '/', 'Overview'],
  ['messages', '/messages', 'Messages'],
  ['queue', '/queue', 'Queue'],
  ['outbox', '/outbox', 'Outbox'],
];

export function page(o: PageOptions, body: Html): string {
  const links = nav.filter(([key]) => key !== 'outbox' || o.showOutbox);
  // `<` is escaped so no value in the data can close the script element.
  const data = o.data === undefined ? '' : JSON.stringify(o.data).replace(/</g, '\\u003c');
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${o.title} · Beacon</title>
<link rel="stylesheet" href="/assets/dashboard.css">
${o.scripts?.includes('uplot') ? html`<link rel="stylesheet" href="/assets/uplot.min.css">` : ''}
</head>
<body>
<header>
  <strong class="brand">Beacon</strong>
  ${o.account === undefined
    ? ''
    : html`<nav>${links.map(([key, href, label]) => html`<a href="${href}"${key === o.active ? html` aria-current="page"` : ''}>${label}</a>`)}</nav>
  <form method="post" action="/logout" class="signout"><span>${o.account}</span><input type="hidden" name="_csrf" value="${o.csrf}"><button type="submit">Sign out</button></form>`}
</header>
<main>
${body}
</main>
${data === '' ? '' : html`<script type="application/json" id="page-data">${new Html(data)}</script>`}
${(o.scripts ?? []).map((s) => html`<script src="/assets/${s === 'uplot' ? 'uplot.min.js' : `${s}.js`}"></script>`)}
</body>
</html>`.value;
}

export function formatDate(d: Date | null): string {
  return d === null ? '–' : d.toISOString().replace('T', ' ').slice(0, 19);
}

export function formatAge(seconds: number): string {
  if (seconds < 1) return 'none waiting';
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7_200) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3_600).toFixed(1)} h`;
}
