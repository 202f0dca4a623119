import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './helpers/test-db.js';

describe('test database harness', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => db.drop());

  it('clones the migrated template', async () => {
    const { rows } = await db.pool.query<{ t: string }>(
      "select table_name as t from information_schema.tables where table_schema = 'public' order by 1",
    );
    expect(rows.map((r) => r.t)).toEqual(
      expect.arrayContaining(['accounts', 'api_keys', 'usage_logs', 'open_events', 'click_events', 'daily_metrics', 'tasks', 'workers']),
    );
  });
});
