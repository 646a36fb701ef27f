import { z } from 'zod';

/**
 * Every event type the service emits, with the schema of its `data` and an
 * example. The schemas are the contract with receivers: published at
 * GET /v1/webhooks/event-types and in the OpenAPI document. Adding a field is
 * compatible; removing or retyping one is not (add a new type instead).
 */

const Uuid = z.uuid();
const Iso = z.iso.datetime({ offset: true });

const ExecutionData = z.object({
  executionId: Uuid,
  agentId: Uuid.nullable(),
  clientId: z.string().describe('the clientId the execution was ingested (or run) with'),
  status: z.string().describe('completed; failed or timeout for execution.failed'),
  errorCode: z.string().nullable(),
  completedAt: Iso.nullable(),
});

const WorkflowData = z.object({
  workflowId: Uuid,
  executionId: Uuid.describe('the workflow execution (run)'),
  status: z.enum(['completed', 'failed']),
  error: z.string().nullable(),
});

export const EVENT_CATALOGUE = {
  'execution.completed': {
    description: 'An execution (ingested or run by the runtime) reached status completed.',
    data: ExecutionData,
    example: { executionId: '0190f5a0-0000-7000-8000-000000000001', agentId: '0190f5a0-0000-7000-8000-000000000002', clientId: 'trip-42', status: 'completed', errorCode: null, completedAt: '2025-01-01T12:00:00.000Z' },
  },
  'execution.failed': {
    description: 'An execution reached status failed or timeout.',
    data: ExecutionData,
    example: { executionId: '0190f5a0-0000-7000-8000-000000000001', agentId: null, clientId: 'trip-43', status: 'failed', errorCode: 'provider_error', completedAt: '2025-01-01T12:00:00.000Z' },
  },
  'run.completed': {
    description: 'An agent run of the runtime ended (completed, failed, timeout or cancelled).',
    data: z.object({ executionId: Uuid, agentId: Uuid.nullable(), status: z.string(), errorCode: z.string().nullable() }),
    example: { executionId: '0190f5a0-0000-7000-8000-000000000001', agentId: '0190f5a0-0000-7000-8000-000000000002', status: 'completed', errorCode: null },
  },
  'workflow.completed': {
    description: 'A workflow execution completed every step.',
    data: WorkflowData,
    example: { workflowId: '0190f5a0-0000-7000-8000-000000000003', executionId: '0190f5a0-0000-7000-8000-000000000004', status: 'completed', error: null },
  },
  'workflow.failed': {
    description: 'A workflow execution failed (a step failed for good).',
    data: WorkflowData,
    example: { workflowId: '0190f5a0-0000-7000-8000-000000000003', executionId: '0190f5a0-0000-7000-8000-000000000004', status: 'failed', error: 'step "fetch" failed: timeout' },
  },
  'agent.version.created': {
    description: 'A new immutable version of an agent was published.',
    data: z.object({ agentId: Uuid, versionId: Uuid, version: z.string() }),
    example: { agentId: '0190f5a0-0000-7000-8000-000000000002', versionId: '0190f5a0-0000-7000-8000-000000000005', version: '1.1.0' },
  },
  'agent.status.changed': {
    description: "An agent's status changed.",
    data: z.object({ agentId: Uuid, from: z.string(), to: z.string() }),
    example: { agentId: '0190f5a0-0000-7000-8000-000000000002', from: 'active', to: 'paused' },
  },
  'eval.run.completed': {
    description: 'An evaluation run finished.',
    data: z.looseObject({ evalRunId: Uuid, suiteId: Uuid, status: z.string() }),
    example: { evalRunId: '0190f5a0-0000-7000-8000-000000000006', suiteId: '0190f5a0-0000-7000-8000-000000000007', status: 'completed' },
  },
  'quota.exceeded': {
    description: 'A monthly quota refused a request (sent at most once per organization, limit and month).',
    data: z.object({ limit: z.string(), month: z.string().describe('YYYY-MM (UTC)'), message: z.string() }),
    example: { limit: 'monthly_executions', month: '2025-01', message: 'the monthly execution limit of 1000 is reached' },
  },
  'plan.version.created': {
    description: 'A plan changed: a new version was written.',
    data: z.object({ planId: Uuid, version: z.number().int(), summary: z.string(), restoredFrom: z.number().int().nullable() }),
    example: { planId: '0190f5a0-0000-7000-8000-000000000008', version: 3, summary: 'title changed', restoredFrom: null },
  },
  'share.accessed': {
    description: 'A plan was opened through a share link.',
    data: z.object({ planId: Uuid, shareId: Uuid, accessCount: z.number().int() }),
    example: { planId: '0190f5a0-0000-7000-8000-000000000008', shareId: '0190f5a0-0000-7000-8000-000000000009', accessCount: 1 },
  },
  'webhook.test': {
    description: 'Sent by POST /v1/webhooks/{id}/test, to that endpoint only.',
    data: z.object({ webhookId: Uuid, message: z.string() }),
    example: { webhookId: '0190f5a0-0000-7000-8000-00000000000a', message: 'a test event from agentbase' },
  },
} as const satisfies Record<string, { description: string; data: z.ZodType; example: Record<string, unknown> }>;

export type EventType = keyof typeof EVENT_CATALOGUE;
export type EventData<T extends EventType> = z.input<(typeof EVENT_CATALOGUE)[T]['data']>;
export const EVENT_TYPES = Object.keys(EVENT_CATALOGUE) as EventType[];

export const isEventType = (s: string): s is EventType => Object.hasOwn(EVENT_CATALOGUE, s);

/** What a subscription may hold: '*', a known type, or a prefix of known types followed by '.*' (execution.*, agent.version.*). */
export function isEventPattern(p: string): boolean {
  if (p === '*') return true;
  if (p.endsWith('.*')) {
    const prefix = p.slice(0, -1); // keeps the dot
    return EVENT_TYPES.some((t) => t.startsWith(prefix));
  }
  return isEventType(p);
}

/** The subscription entries that select `type`: '*', every 'prefix.*' of it, and itself. */
export function patternsFor(type: string): string[] {
  const parts = type.split('.');
  const out = ['*', type];
  for (let i = 1; i < parts.length; i++) out.push(`${parts.slice(0, i).join('.')}.*`);
  return out;
}

/** Whether a subscription selects `type` (the same rule as patternsFor, for code that has the list). */
export const subscribes = (events: readonly string[], type: string): boolean => patternsFor(type).some((p) => events.includes(p));
