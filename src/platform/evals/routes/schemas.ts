import { z } from 'zod';
import { AgentRef } from '../../../agents/index.js';
import { Json, MetadataObject, Text, Uuid } from '../../../http/json-schemas.js';
import { MAX_CONCURRENCY } from '../deps.js';
import { ScorerConfig } from '../scorer-config.js';

export { Uuid, AgentRef };

const NUL = '\u0000';
const Name = z.string().trim().min(1).max(255).refine((s) => !s.includes(NUL), 'must not contain NUL characters');
const Description = Text(10_000).nullable();
const Threshold = z.number().min(0).max(1);
export const ExpectedVersion = z.number().int().min(1).max(2_147_483_647)
  .describe('the version you read; a change since answers 409 version_conflict');

export const IdParams = z.strictObject({ id: Uuid });
export const CaseParams = z.strictObject({ id: Uuid, caseId: Uuid });

const SuiteFields = {
  agentId: AgentRef.describe('the agent the suite tests (id or slug)'),
  name: Name,
  description: Description.optional(),
  passThreshold: Threshold.describe('0..1: what the gate metric of a run must reach for the version to pass this suite'),
  gateMetric: z.enum(['pass_rate', 'average_score']).describe('pass_rate: share of cases passed; average_score: mean score'),
  gate: z.enum(['required', 'if_run', 'off'])
    .describe('required: promoting a version needs a completed run of it at the threshold; if_run: only a failing run refuses; off: never gates'),
  config: MetadataObject.describe('your own settings and labels for the suite'),
};

export const NewSuiteBody = z.strictObject({
  ...SuiteFields,
  passThreshold: SuiteFields.passThreshold.default(1),
  gateMetric: SuiteFields.gateMetric.default('pass_rate'),
  gate: SuiteFields.gate.default('required'),
  config: SuiteFields.config.default({}),
});

export const SuiteChangeBody = z.strictObject({
  agentId: SuiteFields.agentId.optional(),
  name: Name.optional(),
  description: Description.optional(),
  passThreshold: SuiteFields.passThreshold.optional(),
  gateMetric: SuiteFields.gateMetric.optional(),
  gate: SuiteFields.gate.optional(),
  config: SuiteFields.config.optional(),
  version: ExpectedVersion,
});

const Message = z.strictObject({ role: z.enum(['system', 'user', 'assistant']), content: Text(100_000) });
const CaseInput = z.union([Text(100_000).min(1), z.array(Message).min(1).max(100)])
  .describe('a user message, or a list of {role, content} messages');
const Rubric = z.union([Text(20_000).min(1), MetadataObject]).nullable()
  .describe('what an llm_judge grades against: text, or criteria as an object');

export const NewCaseBody = z.strictObject({
  name: Name,
  description: Description.optional(),
  input: CaseInput,
  expectedOutput: Json.optional().describe('the reference answer: text, or JSON (exact compares parsed JSON), or a number (numeric)'),
  scorer: ScorerConfig,
  scoringRubric: Rubric.optional(),
  passThreshold: Threshold.optional()
    .describe('0..1: the case passes when its score reaches this; default 1, or 0.8 for embedding_similarity and 0.7 for llm_judge'),
});

export const CaseChangeBody = z.strictObject({
  name: Name.optional(),
  description: Description.optional(),
  input: CaseInput.optional(),
  expectedOutput: Json.optional(),
  scorer: ScorerConfig.optional(),
  scoringRubric: Rubric.optional(),
  passThreshold: Threshold.optional(),
  version: ExpectedVersion,
});

export const StartRunBody = z.strictObject({
  agentVersionId: Uuid.optional().describe('the version to test; default: the agent\'s current version'),
  version: z.string().min(1).max(50).optional().describe('the version to test by semver (instead of agentVersionId)'),
  concurrency: z.number().int().min(1).max(MAX_CONCURRENCY).optional().describe(`cases run at once, 1..${MAX_CONCURRENCY}; default 4`),
});

export const RUN_STATUSES = ['pending', 'running', 'completed', 'failed', 'cancelled'] as const;

export const CompareQuery = z.strictObject({
  runs: z.string().max(100)
    .transform((s) => s.split(',').map((x) => x.trim()))
    .pipe(z.tuple([Uuid, Uuid], { error: 'must be two run ids separated by a comma: baseline,candidate' }))
    .describe('two run ids of this suite: baseline,candidate'),
});

export const PromoteParams = z.strictObject({
  id: AgentRef,
  version: z.string().min(1).max(50).describe('the version to promote: its semver or its id'),
});

export const PromoteBody = z.strictObject({
  force: z.boolean().default(false).describe('promote even when the eval gate refuses (needs evals:override and a reason)'),
  reason: Text(2000).trim().min(1).optional().describe('why; required with force, recorded in the audit log'),
});
