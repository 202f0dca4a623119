// Parses SMTP_URL (smtp://user:pass@host:port, smtps://…) into nodemailer options and a printable form.

export interface SmtpEndpoint {
  secure: boolean;
  host: string;
  port: number;
  auth: { user: string; pass: string } | undefined;
  requireTLS: boolean;
  ignoreTLS: boolean;
  rejectUnauthorized: boolean;
  /** `smtp://host:587`: no user either, since some providers put an API token in the user name. */
  display: string;
}

const BOOLEAN_PARAMS = ['requireTLS', 'ignoreTLS', 'rejectUnauthorized'] as const;

/** Throws an Error naming the problem (never echoing the URL, which may hold a password). */
export function parseSmtpUrl(url: string): SmtpEndpoint {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error('SMTP_URL is not a valid URL (expected smtp://user:pass@host:port or smtps://…)');
  }
  if (u.protocol !== 'smtp:' && u.protocol !== 'smtps:') {
    throw new Error(`SMTP_URL must start with smtp:// or smtps://, not ${u.protocol}//`);
  }
  if (u.hostname === '') throw new Error('SMTP_URL has no host');
  const secure = u.protocol === 'smtps:';
  const port = u.port === '' ? (secure ? 465 : 587) : Number(u.port);

  const flags: Record<(typeof BOOLEAN_PARAMS)[number], boolean> = { requireTLS: false, ignoreTLS: false, rejectUnauthorized: true };
  for (const [key, value] of u.searchParams) {
    const name = BOOLEAN_PARAMS.find((p) => p === key);
    if (name === undefined || (value !== 'true' && value !== 'false')) {
      throw new Error(`SMTP_URL: unsupported parameter ${key} (known: ${BOOLEAN_PARAMS.join(', ')}, each true or false)`);
    }
    flags[name] = value === 'true';
  }

  const user = decodeURIComponent(u.username);
  const pass = decodeURIComponent(u.password);
  return {
    secure,
    // WHATWG URL keeps IPv6 literals bracketed; sockets want them bare.
    host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
    port,
    auth: user === '' && pass === '' ? undefined : { user, pass },
    ...flags,
    display: `${u.protocol}//${u.hostname}:${port}`,
  };
}
