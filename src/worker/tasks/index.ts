// Beacon's task list: every task file is registered here.
import { createTaskRegistry, type TaskDepsOf, type TaskPayloadsOf } from '../registry.js';
import { pruneTasksTask } from './prune-tasks.js';
import { sendEmailTask } from './send-email.js';

/**
 * Every task Beacon runs. main/ passes this to `createWorker` along with deps of type `BeaconTaskDeps`, and
 * to `createEnqueue` for the server.
 */
export const beaconTasks = createTaskRegistry([
  pruneTasksTask,
  sendEmailTask,
]);

/** The deps object main/ must build for `createWorker({ tasks: beaconTasks, deps })`. */
export type BeaconTaskDeps = TaskDepsOf<typeof beaconTasks>;
/** `{ prune_tasks: {}, send_email: { logId: number }, … }`. */
export type BeaconTaskPayloads = TaskPayloadsOf<typeof beaconTasks>;
