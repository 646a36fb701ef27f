import { z } from 'zod';
import { Json, JsonObject, MetadataObject, Tags, Text, Uuid } from './json.js';

/** Request-level limits of POST /v1/ingest/batch. */
export const MAX_BATCH_ITEMS = 5000;
export const INGEST_BODY_LIMIT = 16 * 1024 * 1024;

const NUL = '\u0000';
const ClientId = z.string().min(1).max(255).refine((s) => !s.includes(NUL), 'must not contain NUL characters');
const Hex32 = z.string().regex(/^[0-9a-f]{32}$/, 'must be 32 lower-case hex characters (W3C trace id)');
const Hex16 = z.string().regex(/^[0-9a-f]{16}$/, 'must be 16 lower-case hex characters (W3C span id)');
const Instant = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time with a zone, such as 2026-01-31T12:00:00Z' });
const Count = z.number().int().min(0).max(2_000_000_000);
const Ms = z.number().int().min(0).max(2_000_000_000);
const Money = z.number().min(0).max(999_999);
const Unit = z.number().min(0).max(1);
const AgentSlug = z.string().regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/, 'must be an agent slug (lower-case letters, digits, hyphens)').max(100);
const SessionKey = Text(255).min(1).describe('the session: its id, or your key for the conversation (a session is created on first sight of a new key)');

export const EXECUTION_STATUSES = ['pending', 'queued', 'running', 'completed', 'failed', 'timeout', 'cancelled'] as const;
export const SPAN_KINDS = ['llm_call', 'tool_call', 'memory_access', 'agent_call', 'reasoning_step', 'other'] as const;
export const MESSAGE_STATUSES = ['sent', 'delivered', 'received', 'processed', 'failed', 'timeout'] as const;

const tokenFields = {
  promptTokens: Count.optional().describe('all input tokens, cached and cache-write tokens included'),
  completionTokens: Count.optional().describe('all output tokens, reasoning tokens included'),
  cachedTokens: Count.optional().describe('input tokens read from the prompt cache'),
  cacheWriteTokens: Count.optional().describe('input tokens written to the prompt cache'),
  reasoningTokens: Count.optional().describe('output tokens spent on reasoning'),
  totalTokens: Count.optional(),
};

interface Tokens {
  promptTokens?: number | undefined;
  completionTokens?: number | undefined;
  cachedTokens?: number | undefined;
  cacheWriteTokens?: number | undefined;
  reasoningTokens?: number | undefined;
}

function checkTokens(v: Tokens, ctx: z.RefinementCtx): void {
  if ((v.cachedTokens ?? 0) + (v.cacheWriteTokens ?? 0) > (v.promptTokens ?? 0)) {
    ctx.addIssue({ code: 'custom', path: ['cachedTokens'], message: 'cachedTokens + cacheWriteTokens must not exceed promptTokens (they are part of it)' });
  }
  if ((v.reasoningTokens ?? 0) > (v.completionTokens ?? 0)) {
    ctx.addIssue({ code: 'custom', path: ['reasoningTokens'], message: 'reasoningTokens must not exceed completionTokens (they are part of it)' });
  }
}

function checkOrder(a: string | undefined, b: string | undefined, names: [string, string], ctx: z.RefinementCtx): void {
  if (a && b && Date.parse(b) < Date.parse(a)) {
    ctx.addIssue({ code: 'custom', path: [names[1]], message: `${names[1]} must not be before ${names[0]}` });
  }
}

export const ExecutionItem = z
  .strictObject({
    clientId: ClientId,
    agentId: Uuid.optional().describe('the agent; give this or agentSlug'),
    agentSlug: AgentSlug.optional().describe('the agent by its slug, when the caller does not hold its id'),
    agentVersionId: Uuid.optional(),
    userId: Uuid.optional(),
    sessionId: SessionKey.optional(),
    parentExecutionId: Uuid.optional(),
    planId: Uuid.optional(),
    modelProvider: Text(50).optional(),
    modelName: Text(100).optional(),
    input: Json.optional(),
    output: Json.optional(),
    status: z.enum(EXECUTION_STATUSES).default('completed'),
    errorCode: Text(100).optional(),
    errorMessage: Text(10_000).optional(),
    retryCount: z.number().int().min(0).max(1000).optional(),
    maxRetries: z.number().int().min(0).max(1000).optional(),
    queueTimeMs: Ms.optional(),
    executionTimeMs: Ms.optional(),
    latencyMs: Ms.optional(),
    createdAt: Instant.optional().describe('defaults to startedAt, then to the time of ingestion'),
    startedAt: Instant.optional(),
    completedAt: Instant.optional(),
    ...tokenFields,
    costUsd: Money.optional().describe('used only while no priced llm span of the execution has arrived'),
    resultQualityScore: Unit.optional(),
    userSatisfactionScore: z.number().int().min(1).max(5).optional(),
    toolCalls: z.array(z.unknown()).max(1000).optional(),
    traceId: Hex32.optional(),
    spanId: Hex16.optional(),
    parentSpanId: Hex16.optional(),
    correlationId: Text(100).optional(),
    requestId: Text(100).optional(),
    metadata: MetadataObject.optional(),
    tags: Tags.optional().describe('labels to filter and group costs by; an update replaces the stored tags'),
  })
  .superRefine((v, ctx) => {
    checkTokens(v, ctx);
    checkOrder(v.startedAt, v.completedAt, ['startedAt', 'completedAt'], ctx);
    if (v.toolCalls) {
      const r = Json.safeParse(v.toolCalls);
      if (!r.success) ctx.addIssue({ code: 'custom', path: ['toolCalls'], message: r.error.issues[0]?.message ?? 'is invalid' });
    }
  });
export type ExecutionItem = z.infer<typeof ExecutionItem>;

export const SpanItem = z
  .strictObject({
    clientId: ClientId,
    executionClientId: ClientId.describe('clientId of the execution, in this batch or an earlier one'),
    kind: z.enum(SPAN_KINDS),
    traceId: Hex32.optional(),
    spanId: Hex16.optional().describe('generated when absent'),
    parentSpanId: Hex16.optional(),
    name: z.string().trim().min(1).max(255).refine((s) => !s.includes(NUL), 'must not contain NUL characters'),
    model: Text(100).optional(),
    provider: Text(50).optional(),
    ...tokenFields,
    costUsd: Money.optional().describe('used only when no price matches the model'),
    toolName: Text(100).optional(),
    toolStatus: Text(20).optional(),
    stepNumber: z.number().int().min(0).max(1_000_000).optional(),
    reasoning: Text(100_000).optional(),
    confidence: Unit.optional(),
    input: Json.optional(),
    output: Json.optional(),
    status: z.enum(['ok', 'error', 'unset']).default('ok'),
    errorMessage: Text(10_000).optional(),
    startedAt: Instant,
    endedAt: Instant.optional(),
    durationMs: Ms.optional(),
    attributes: JsonObject.optional(),
    usageCategory: Text(50).optional(),
    usageType: Text(50).optional(),
    alternativeModel: Text(100).optional().describe('price the same usage on this model too; the ledger records its cost and the savings'),
  })
  .superRefine((v, ctx) => {
    checkTokens(v, ctx);
    checkOrder(v.startedAt, v.endedAt, ['startedAt', 'endedAt'], ctx);
    if (v.kind === 'llm_call' && !v.model) ctx.addIssue({ code: 'custom', path: ['model'], message: 'an llm_call span needs its model' });
  });
export type SpanItem = z.infer<typeof SpanItem>;

export const DecisionItem = z.strictObject({
  clientId: ClientId.describe('the decision id, unique per organization'),
  executionClientId: ClientId.optional().describe('the execution; agentId, sessionId and planId default to its own'),
  agentId: Uuid.optional(),
  agentSlug: AgentSlug.optional().describe('the agent by its slug (instead of agentId)'),
  sessionId: SessionKey.optional(),
  planId: Uuid.optional().describe('the plan (such as a campaign) the decision was about'),
  decidedAt: Instant,
  decisionType: z.string().min(1).max(100).refine((s) => !s.includes(NUL), 'must not contain NUL characters'),
  reasoningChain: Json.refine((v) => v !== undefined && v !== null, 'is required'),
  dataSources: Json.optional(),
  confidence: Unit,
  metadata: MetadataObject.optional(),
  modelUsed: Text(100).optional(),
  latencyMs: z.number().min(0).max(2_000_000_000).optional(),
  errorMessage: Text(10_000).optional(),
  tags: Tags.optional(),
});
export type DecisionItem = z.infer<typeof DecisionItem>;

export const MessageItem = z
  .strictObject({
    clientId: ClientId,
    executionClientId: ClientId.optional().describe('the execution; sessionId and planId default to its own'),
    planId: Uuid.optional(),
    sessionId: SessionKey.optional(),
    fromAgentId: Uuid.optional(),
    toAgentId: Uuid.optional(),
    fromAgent: Text(100).optional().describe('the sender\'s name; a slug of one of your agents also sets fromAgentId'),
    toAgent: Text(100).optional().describe('the receiver\'s name; a slug of one of your agents also sets toAgentId'),
    messageType: z.string().min(1).max(50).refine((s) => !s.includes(NUL), 'must not contain NUL characters'),
    messageData: JsonObject,
    priority: z.number().int().min(1).max(10).default(5),
    responseData: JsonObject.optional(),
    responseTimeMs: Ms.optional(),
    status: z.enum(MESSAGE_STATUSES).default('sent'),
    errorMessage: Text(10_000).optional(),
    retryCount: z.number().int().min(0).max(1000).optional(),
    sentAt: Instant,
    deliveredAt: Instant.optional(),
    receivedAt: Instant.optional(),
    processedAt: Instant.optional(),
    traceId: Hex32.optional(),
    correlationId: Text(100).optional(),
    metadata: MetadataObject.optional(),
    tags: Tags.optional(),
  })
  .superRefine((v, ctx) => {
    checkOrder(v.sentAt, v.deliveredAt, ['sentAt', 'deliveredAt'], ctx);
    checkOrder(v.deliveredAt ?? v.sentAt, v.receivedAt, [v.deliveredAt ? 'deliveredAt' : 'sentAt', 'receivedAt'], ctx);
    checkOrder(v.receivedAt ?? v.deliveredAt ?? v.sentAt, v.processedAt, ['receivedAt', 'processedAt'], ctx);
  });
export type MessageItem = z.infer<typeof MessageItem>;

/** The body: each list holds raw items, validated one by one so a bad item fails alone. */
export const IngestBody = z.strictObject({
  executions: z.array(z.unknown()).optional(),
  spans: z.array(z.unknown()).optional(),
  decisions: z.array(z.unknown()).optional(),
  messages: z.array(z.unknown()).optional(),
});
export type IngestBody = z.infer<typeof IngestBody>;

/** What a client sends (before defaults), for the SDK and other callers. */
export type ExecutionItemInput = z.input<typeof ExecutionItem>;
export type SpanItemInput = z.input<typeof SpanItem>;
export type DecisionItemInput = z.input<typeof DecisionItem>;
export type MessageItemInput = z.input<typeof MessageItem>;
