// The worker module's public surface for main/ (the server imports only ./enqueue.js).
export { createWorker, type Worker, type WorkerOptions } from './worker.js';
export { defineTask, PermanentTaskError, type TaskContext, type TaskDefinition, type AnyTaskDefinition, type TaskRunInfo } from './define-task.js';
export { createTaskRegistry, type TaskRegistry, type TaskDepsOf, type TaskPayloadsOf } from './registry.js';
export { createEnqueue, type Enqueue, type EnqueueOptions, type BeaconEnqueue } from './enqueue.js';
export { ensureSystemTasks } from './system-tasks.js';
export { retryDelayMs, sleep, MAX_TIMER_MS } from './backoff.js';
export { beaconTasks, type BeaconTaskDeps, type BeaconTaskPayloads } from './tasks/index.js';
