/**
 * Plans: versioned plan documents and share links; the travel, campaign and
 * task domains. So far: the task domain (seed 004), in tasks/.
 */
export * from './tasks/index.js';
