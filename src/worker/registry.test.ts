import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import type { Database } from '../storage/db.js';
import { defineTask } from './define-task.js';
import { createEnqueue } from './enqueue.js';
import { createTaskRegistry, type TaskDepsOf, type TaskPayloadsOf } from './registry.js';
import { createWorker } from './worker.js';

interface Transport {
  send(to: string): Promise<void>;
}

const mailTask = defineTask<'mail', z.ZodObject<{ logId: z.ZodNumber }>, { transport: Transport }>({
  type: 'mail',
  payload: z.object({ logId: z.number() }),
  maxAttempts: 5,
  handler: async (_p, ctx) => ctx.deps.transport.send('x'),
});
const plainTask = defineTask({ type: 'plain', payload: z.object({ n: z.number().default(1) }), handler: async () => undefined });
const registry = createTaskRegistry([mailTask, plainTask]);

describe('task registry', () => {
  it('derives the payload map and the combined deps from the task list', () => {
    expectTypeOf<TaskPayloadsOf<typeof registry>>().toEqualTypeOf<{ mail: { logId: number }; plain: { n?: number | undefined } }>();
    expectTypeOf<TaskDepsOf<typeof registry>>().toEqualTypeOf<{ transport: Transport }>();
  });

  it('createWorker does not compile without the deps the tasks declared', () => {
    const db = {} as Database;
    const logger = {} as never;
    // @ts-expect-error transport is missing
    const bad = () => createWorker({ db, logger, concurrency: 1, tasks: registry, deps: {} });
    const good = () => createWorker({ db, logger, concurrency: 1, tasks: registry, deps: { transport: { send: async () => undefined } } });
    expect([typeof bad, typeof good]).toEqual(['function', 'function']);
  });

  it('rejects duplicate types', () => {
    expect(() => createTaskRegistry([plainTask, plainTask])).toThrow(/registered twice/);
  });

  it('enqueue is typed by the registry, validates payloads and stores the task’s maxAttempts', async () => {
    const calls: unknown[][] = [];
    const q = { query: async (...args: unknown[]) => (calls.push(args), { rows: [{ id: 7 }] }) } as never;
    const enqueue = createEnqueue(registry);
    expect(await enqueue(q, 'mail', { logId: 3 })).toEqual({ id: 7 });
    expect(calls[0]?.[1]).toEqual(['mail', '{"logId":3}', null, null, 5, null]);
    // @ts-expect-error wrong payload type
    await expect(enqueue(q, 'mail', { logId: 'x' })).rejects.toThrow(/invalid payload for task mail/);
    // @ts-expect-error unknown task type
    await expect(enqueue(q, 'nope', {})).rejects.toThrow(/unknown task type/);
  });
});
