import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './index.js';

const problems = (env: Record<string, string>): string[] => {
  try {
    loadConfig(env);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
};

describe('loadConfig', () => {
  it('has a working default for everything on first run', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 3000, host: '127.0.0.1', publicUrl: 'http://localhost:3000', role: 'all', workerConcurrency: 5 });
    expect(config.databaseUrl).toBeUndefined();
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('derives PUBLIC_URL from PORT and drops a trailing slash', () => {
    expect(loadConfig({ PORT: '8080' }).publicUrl).toBe('http://localhost:8080');
    expect(loadConfig({ PUBLIC_URL: 'https://t.example.com/' }).publicUrl).toBe('https://t.example.com');
  });

  it('splits TRACKING_SECRETS for rotation', () => {
    expect(loadConfig({ TRACKING_SECRETS: 'new-secret-0123456789, old-secret-0123456789' }).trackingSecrets).toEqual([
      'new-secret-0123456789',
      'old-secret-0123456789',
    ]);
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '0' }, 'PORT'],
    [{ SMTP_URL: 'http://x' }, 'SMTP_URL'],
    [{ DATABASE_URL: 'garbage' }, 'DATABASE_URL'],
    [{ DATABASE_URL: 'postgres://db/beacon' }, 'TRACKING_SECRETS: required'],
    [{ TRACKING_SECRETS: ',' }, 'TRACKING_SECRETS: holds no secret'],
    [{ TRACKING_SECRETS: 'short' }, 'TRACKING_SECRETS: every secret'],
    [{ PUBLIC_URL: 'javascript:alert(1)' }, 'PUBLIC_URL'],
    [{ PUBLIC_URL: 'https://t.example.com/?x=1' }, 'PUBLIC_URL'],
    [{ BOOTSTRAP_API_KEY: 'has spaces in it 0123456789' }, 'BOOTSTRAP_API_KEY'],
    [{ WORKER_CONCURRENCY: '0' }, 'WORKER_CONCURRENCY'],
    [{ ROLE: 'both' }, 'ROLE'],
  ])('%o is refused, naming %s', (env, name) => {
    expect(problems(env).some((p) => p.startsWith(name))).toBe(true);
  });
});
