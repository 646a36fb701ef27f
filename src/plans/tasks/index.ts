/**
 * The task domain of seed 004, part of the plans module: projects, lists
 * and tasks.
 *
 * Terminology:
 * - position: a task's 0-based place in its list; the live tasks of a list
 *   hold exactly 0..n-1 (task-positions.ts says how that holds under
 *   concurrency).
 * - status:   todo | in_progress | blocked | completed | cancelled.
 * - priority: 0 none, 1 low, 2 medium, 3 high, 4 urgent.
 * - version:  the optimistic lock of a project, list or task; a stale one is 409.
 */
export { taskRoutes } from './routes/index.js';
export type { TasksDeps } from './deps.js';
export { TASK_STATUSES, type TaskRow, type TaskStatus } from './tasks-repo.js';
export { TASK_RANK_MAX, searchTasks as searchTasksIn, type TaskHit, type TaskSearchPage } from './tasks-search-repo.js';
export { listTasks as listTasksIn, activitySummary, type TaskFilter, type ActivitySummary } from './tasks-query-repo.js';
export { createTask, getTask, searchTasks, listTasks, updateTask, deleteTask, summary } from './tasks-service.js';
export { moveTask } from './task-move-service.js';
export { createProject } from './projects-service.js';
export { createList, listLists } from './lists-service.js';
