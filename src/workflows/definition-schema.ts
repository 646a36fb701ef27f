import { z } from 'zod';
import { Json, Text, Uuid } from '../http/json-schemas.js';

/**
 * The shape of a workflow definition's steps. Graph rules (references,
 * cycles, ancestry of mappings) are in dag.ts; agents, tools and approvers are
 * checked against the database in refs.ts.
 */

export const STEP_TYPES = ['agent', 'tool', 'wait', 'approval', 'fan_out', 'fan_in'] as const;
export type StepType = (typeof STEP_TYPES)[number];

/** Step keys have no ".": fan-out items are "<key>.<index>" in the same namespace. */
export const STEP_KEY_RE = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
/** Items one fan_out may create; the engine fails the step beyond it. */
export const MAX_FAN_OUT_ITEMS = 1000;
export const MAX_STEPS = 100;

const Key = z.string().regex(STEP_KEY_RE, 'must be a letter then up to 63 letters, digits, "_" or "-"');
export const EventName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/, 'must be 1-100 letters, digits, ".", "_", ":" or "-"');

const common = {
  key: Key,
  dependsOn: z.array(Key).max(MAX_STEPS).optional().describe('keys of steps that must complete first'),
};

// How a runner step (agent or tool) is attempted.
const attempts = {
  input: Json.optional().describe('a mapping (see the README); default "$.input", the run input'),
  retries: z.number().int().min(0).max(10).optional().describe('attempts after the first failure; default 0'),
  backoffMs: z.number().int().min(1).max(3_600_000).optional().describe('base delay before a retry, doubled each time; default 1000'),
  timeoutMs: z.number().int().min(1).max(86_400_000).optional().describe('an attempt running longer fails'),
};

const agentRef = {
  agent: z.string().min(1).max(100).describe("the agent's id or slug"),
  version: z.string().min(1).max(50).optional().describe("a published version (semver); default the agent's current one"),
};
const toolRef = { tool: z.string().min(1).max(255).describe('the name of a stored tool (POST /v1/tools)') };

export const AgentTemplate = z.strictObject({ type: z.literal('agent'), ...agentRef, ...attempts });
export const ToolTemplate = z.strictObject({ type: z.literal('tool'), ...toolRef, ...attempts });

export const AgentStep = z.strictObject({ ...common, type: z.literal('agent'), ...agentRef, ...attempts });
export const ToolStep = z.strictObject({ ...common, type: z.literal('tool'), ...toolRef, ...attempts });
export const WaitStep = z.strictObject({
  ...common,
  type: z.literal('wait'),
  event: EventName.describe('the event name that resumes the step (POST …/events)'),
  timeoutMs: z.number().int().min(1).max(31 * 86_400_000).optional().describe('waiting longer fails the step'),
});
export const ApprovalStep = z
  .strictObject({
    ...common,
    type: z.literal('approval'),
    approvers: z.array(Uuid).min(1).max(50).optional().describe('user ids who may decide'),
    role: z.string().min(1).max(100).optional().describe('or: the members holding this role when the step starts'),
    message: Text(2000).min(1).describe('what the approvers are asked'),
    timeoutMs: z.number().int().min(1).max(31 * 86_400_000).optional().describe('no decision within it fails the step'),
  })
  .refine((s) => (s.approvers === undefined) !== (s.role === undefined), { message: 'give either approvers (user ids) or role, not both or neither' });
export const FanOutStep = z.strictObject({
  ...common,
  type: z.literal('fan_out'),
  over: Json.describe('a mapping that gives an array; one item step runs per element'),
  step: z.discriminatedUnion('type', [AgentTemplate, ToolTemplate]).describe('the agent or tool step each item runs; $.item and $.index are the element and its position'),
});
export const FanInStep = z.strictObject({
  ...common,
  type: z.literal('fan_in'),
  from: Key.describe('the fan_out whose items to wait for; the output is their outputs in order'),
});

export const Step = z.discriminatedUnion('type', [AgentStep, ToolStep, WaitStep, ApprovalStep, FanOutStep, FanInStep]);
export type Step = z.infer<typeof Step>;
export type AgentStep = z.infer<typeof AgentStep>;
export type ToolStep = z.infer<typeof ToolStep>;
export type WaitStep = z.infer<typeof WaitStep>;
export type ApprovalStep = z.infer<typeof ApprovalStep>;
export type FanOutStep = z.infer<typeof FanOutStep>;
export type FanInStep = z.infer<typeof FanInStep>;
export type RunnerStep = AgentStep | ToolStep | z.infer<typeof AgentTemplate> | z.infer<typeof ToolTemplate>;

/** The graph as stored in workflows.dependencies: each step's effective prerequisites (dependsOn, and a fan_in's from). */
export type Dependencies = Record<string, string[]>;

export interface Definition {
  steps: Step[];
  dependencies: Dependencies;
}
