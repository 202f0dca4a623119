// Beacon's task list: add each task file here (send-email.ts goes next to prune-tasks.ts).
import { createTaskRegistry, type TaskDepsOf, type TaskPayloadsOf } from '../registry.js';
import { pruneTasksTask } from './prune-tasks.js';

/**
 * Every task Beacon runs. main/ passes this to `createWorker` along with deps of type `BeaconTaskDeps`, and
 * to `createEnqueue` for the server.
 */
export const beaconTasks = createTaskRegistry([
  pruneTasksTask,
  // sendEmailTask (src/worker/tasks/send-email.ts, payload { logId: number }, maxAttempts 5)
]);

/** The deps object main/ must build for `createWorker({ tasks: beaconTasks, deps })`. */
export type BeaconTaskDeps = TaskDepsOf<typeof beaconTasks>;
/** `{ prune_tasks: {}, send_email: { logId: number }, … }`. */
export type BeaconTaskPayloads = TaskPayloadsOf<typeof beaconTasks>;
