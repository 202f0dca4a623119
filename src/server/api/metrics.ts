// GET /api/metrics/daily: the account's counters per UTC day.
import type { FastifyInstance } from 'fastify';
import { getDailyMetrics } from '../../storage/metrics.js';
import type { AppDeps } from '../app.js';
import { dailyMetricsQuery, parse } from './schemas.js';

export function dailyMetricsRoutes(app: FastifyInstance, deps: AppDeps): void {
  app.get('/api/metrics/daily', async (request) => {
    const { from, to } = parse(dailyMetricsQuery, request.query, 'the query');
    return { days: await getDailyMetrics(deps.db.pool, request.accountId, from, to) };
  });
}
