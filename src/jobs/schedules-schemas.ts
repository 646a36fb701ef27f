import { z } from 'zod';
import { Json, Text } from '../http/json-schemas.js';
import { cronProblem, timezoneProblem } from './cron.js';
import { QueueName, TaskName } from './jobs-schemas.js';

const refined = (problem: (s: string) => string | null) => (s: string, ctx: z.RefinementCtx) => {
  const p = problem(s);
  if (p) ctx.addIssue({ code: 'custom', message: p });
};

export const CronExpression = z.string().max(100).superRefine(refined(cronProblem))
  .describe('5 fields: minute hour day-of-month month day-of-week, e.g. "*/15 * * * *" or "0 3 * * mon-fri"');
export const TimeZone = z.string().min(1).max(64).superRefine(refined(timezoneProblem)).describe('IANA time zone the cron expression is read in');
export const ScheduleName = Text(100).min(1).describe('unique within the organization');

const Priority = z.number().int().min(-1000).max(1000);
const MaxAttempts = z.number().int().min(1).max(100);

export const ScheduleInput = z.strictObject({
  name: ScheduleName,
  cron: CronExpression,
  timezone: TimeZone.default('UTC'),
  queue: QueueName.default('default'),
  task: TaskName,
  payload: Json.default({}).describe('the payload of every job the schedule enqueues'),
  priority: Priority.default(0),
  maxAttempts: MaxAttempts.default(5),
  enabled: z.boolean().default(true),
});
export type ScheduleInput = z.input<typeof ScheduleInput>;

/** Only the fields sent change; a new cron, time zone or re-enabling recomputes the next run from now. */
export const SchedulePatch = z.strictObject({
  name: ScheduleName.optional(),
  cron: CronExpression.optional(),
  timezone: TimeZone.optional(),
  queue: QueueName.optional(),
  task: TaskName.optional(),
  payload: Json.optional(),
  priority: Priority.optional(),
  maxAttempts: MaxAttempts.optional(),
  enabled: z.boolean().optional(),
});
export type SchedulePatch = z.input<typeof SchedulePatch>;
