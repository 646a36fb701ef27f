import { z } from 'zod';
import { Json, Text } from '../http/json-schemas.js';

export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'dead', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

// The same patterns as the table's CHECKs, so a bad name is a 400 naming the field, not a driver error.
export const QueueName = z.string().min(1).max(100).regex(/^[a-z0-9][a-z0-9._:-]*$/, 'must be lower-case letters, digits, . _ : -');
export const TaskName = z.string().min(1).max(200).regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]*$/, 'must be letters, digits, . _ : / -');

export const EnqueueInput = z.strictObject({
  queue: QueueName.default('default'),
  task: TaskName,
  payload: Json.default({}),
  priority: z.number().int().min(-1000).max(1000).default(0).describe('higher runs first'),
  runAt: z.union([z.date(), z.iso.datetime({ offset: true })]).optional().describe('default: now'),
  maxAttempts: z.number().int().min(1).max(100).default(5),
  idempotencyKey: Text(255).min(1).optional().describe('a repeated key (per organization and queue) returns the existing job'),
});
export type EnqueueInput = z.input<typeof EnqueueInput>;
