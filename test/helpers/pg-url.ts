// Small helpers for test database URLs.
export const TEMPLATE_DB = 'beacon_template';

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}
