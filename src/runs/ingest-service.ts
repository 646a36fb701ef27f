import { randomBytes } from 'node:crypto';
import { v7 } from 'uuid';
import type { z } from 'zod';
import type { Actor } from '../audit/index.js';
import { invalidate } from '../cache/index.js';
import { PARTITIONED_TABLES, ensureMonthPartitions, type Sql } from '../db/index.js';
import { emitEvents } from '../events/index.js';
import { resolveSessionKeys } from '../sessions/index.js';
import { chargeIngestedSpans, reportQuotaRefusal } from '../usage/index.js';
import { COSTS_CACHE_TAG, clock, type RunsDeps } from './deps.js';
import { executionEvents, type Ended } from './execution-events.js';
import { applyExecutionUpdates } from './execution-updates.js';
import { resolveReferences } from './ingest-refs.js';
import { isOpen, reject, type ItemErrorCode, type ItemResult, type Pending } from './ingest-types.js';
import { applyMessageUpdates } from './message-updates.js';
import * as repo from './ingest-repo.js';
import type { IngestKind } from './ingest-repo.js';
import { reservedProblem } from './reserved-client-ids.js';
import {
  DecisionItem,
  ExecutionItem,
  MessageItem,
  SpanItem,
  type IngestBody,
} from './ingest-schemas.js';

export type { ItemErrorCode, ItemResult, ItemStatus } from './ingest-types.js';

export interface IngestOptions {
  /**
   * 'reject' (the batch API): an execution must name an agent of the
   * organization. 'keep' (OTLP): an agent that cannot be resolved is stored
   * as none, and the telemetry kept.
   */
  unknownAgents?: 'reject' | 'keep';
  /** Execution clientIds that only ever create: when already ingested they are duplicates, never updates. */
  createOnly?: ReadonlySet<string>;
  /**
   * The caller's own work that must commit with the batch or not at all, run
   * in the batch's tenant transaction after its items are written (the
   * runtime checks quotas and enqueues a run's job with its queued
   * execution). Throwing rolls the whole batch back.
   */
  within?: (sql: Sql, result: IngestResult) => Promise<void>;
  /**
   * Lets items use the reserved clientId prefix `run:` (see reserved-client-ids.ts).
   * Only the agent runtime sets it, for the executions and spans it records itself.
   */
  allowReservedClientIds?: boolean;
  /**
   * Whether the batch is telemetry the service receives (the default): its new
   * spans count against the organization's monthly ingested-span limit. The
   * runtime records its own runs with false (runs have a limit of their own).
   */
  telemetry?: boolean;
  /**
   * The items' sessionIds are already session ids (the runtime's, whose new
   * session is created later in the same transaction by `within`): stored as
   * given, not resolved as keys.
   */
  sessionIdsResolved?: boolean;
}

export interface IngestResult {
  accepted: number;
  updated: number;
  duplicate: number;
  rejected: number;
  results: ItemResult[];
}

const idAt = (at: Date): string => v7({ msecs: at.getTime() });
const key = (kind: string, clientId: string) => `${kind}\u0000${clientId}`;

function issueText(err: z.ZodError): string {
  return err.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
}

/** json_too_deep / payload_too_large when a free-form field asked for it (src/http/json-schemas.ts), else invalid. */
function issueCode(err: z.ZodError): ItemErrorCode {
  for (const i of err.issues) {
    const code = (i as { params?: { errorCode?: unknown } }).params?.errorCode;
    if (code === 'json_too_deep' || code === 'payload_too_large') return code;
  }
  return 'invalid';
}

function monthStart(d: Date, addMonths = 0): Date {
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + addMonths, 1));
}

/** The window of times a partitioned table accepts: within retention, and no further ahead than maintenance creates. */
function window(table: string, now: Date): { from: Date; to: Date } {
  const t = PARTITIONED_TABLES.find((p) => p.table === table)!;
  return { from: monthStart(now, -t.retainMonths), to: monthStart(now, t.ahead + 1) };
}

/** Partitions already known to exist, per database (a month is ensured once per process). */
const knownPartitions = new WeakMap<object, Set<string>>();

/**
 * Creates the monthly partitions a batch needs (as the owner: DDL, no tenant
 * data), so an item from last month or next month lands instead of failing the batch.
 */
async function ensurePartitions(deps: RunsDeps, wanted: { table: string; month: Date }[]): Promise<void> {
  let known = knownPartitions.get(deps.db);
  if (!known) knownPartitions.set(deps.db, (known = new Set()));
  const todo = wanted.filter((w) => !known.has(`${w.table}:${w.month.toISOString()}`));
  if (!todo.length) return;
  await ensureMonthPartitions(deps.db, todo);
  for (const w of todo) known.add(`${w.table}:${w.month.toISOString()}`);
}

/**
 * Validates every item on its own, then applies all valid, new items in one
 * transaction: ingestion keys first (only new keys proceed, so a retried batch
 * creates nothing twice), then one multi-row statement per table, the cost
 * ledger and the roll-up of span costs into their executions.
 *
 * No audit row: the audit log records state changes people and keys make
 * (configuration, permissions, keys, deletions); telemetry is the record of
 * what agents did, counted in usage (GET /v1/usage) and the ingestion metrics,
 * and an audit row per batch would serialize every batch of an organization
 * on its hash chain.
 */
export async function ingestBatch(deps: RunsDeps, actor: Actor, body: IngestBody, opts: IngestOptions = {}): Promise<IngestResult> {
  const now = clock(deps);
  const results: ItemResult[] = [];
  const seen = new Set<string>();

  function prepare<S extends z.ZodType>(
    kind: IngestKind,
    schema: S,
    raw: unknown[] | undefined,
    timeOf: (v: z.infer<S>) => Date,
    table?: string,
  ): Pending<z.infer<S>>[] {
    const out: Pending<z.infer<S>>[] = [];
    (raw ?? []).forEach((x, index) => {
      const cid = x && typeof x === 'object' && typeof (x as { clientId?: unknown }).clientId === 'string'
        ? ((x as { clientId: string }).clientId) : null;
      const result: ItemResult = { index, kind, clientId: cid, status: 'rejected' };
      results.push(result);
      const parsed = schema.safeParse(x);
      if (!parsed.success) {
        reject(result, issueCode(parsed.error), issueText(parsed.error));
        return;
      }
      const item = parsed.data as z.infer<S> & { clientId: string; executionClientId?: string | undefined };
      const problem = opts.allowReservedClientIds ? undefined : reservedProblem(kind, item);
      if (problem) {
        reject(result, 'reserved_client_id', problem);
        return;
      }
      const at = timeOf(item);
      if (table) {
        const w = window(table, now);
        if (at < w.from || at >= w.to) {
          reject(result, 'outside_retention', `its time ${at.toISOString()} is outside what ${table} keeps (${w.from.toISOString()} to ${w.to.toISOString()})`);
          return;
        }
      }
      if (seen.has(key(kind, item.clientId))) {
        result.status = 'duplicate';
        result.error = 'the same clientId appears earlier in this batch';
        return;
      }
      seen.add(key(kind, item.clientId));
      out.push({ index, item, raw: x as Record<string, unknown>, id: idAt(kind === 'execution' || kind === 'span' ? at : now), at, result });
    });
    return out;
  }

  const executions = prepare('execution', ExecutionItem, body.executions, (v) => new Date(v.createdAt ?? v.startedAt ?? now.toISOString()), 'executions');
  const spans = prepare('span', SpanItem, body.spans, (v) => new Date(v.startedAt), 'spans');
  const decisions = prepare('decision', DecisionItem, body.decisions, (v) => new Date(v.decidedAt), 'agent_decisions');
  const messages = prepare('message', MessageItem, body.messages, (v) => new Date(v.sentAt));

  const months = new Map<string, { table: string; month: Date }>();
  for (const e of executions) months.set(`executions:${monthStart(e.at).toISOString()}`, { table: 'executions', month: monthStart(e.at) });
  for (const s of spans) months.set(`spans:${monthStart(s.at).toISOString()}`, { table: 'spans', month: monthStart(s.at) });
  for (const d of decisions) months.set(`agent_decisions:${monthStart(d.at).toISOString()}`, { table: 'agent_decisions', month: monthStart(d.at) });
  await ensurePartitions(deps, [...months.values()]);

  const orgId = actor.orgId;
  const updated = new Set<ItemResult>();
  await deps.db.tenant(orgId, async (sql) => {
    const ended: Ended[] = [];
    // Agents first: an execution naming an unknown agent fails before any key is claimed.
    // An update of a stored execution need not name its agent again.
    const stored = await repo.lookupKeys(sql, 'execution', executions.map((e) => e.item.clientId));
    // Every id an item names, resolved in the tenant (an unknown one rejects its item alone).
    const { agentOf, versionAgent } = await resolveReferences(sql, { executions, decisions, messages }, {
      unknownAgents: opts.unknownAgents ?? 'reject', stored, planRefs: deps.planRefs,
    });
    const executionsOk = executions.filter(isOpen);
    // Sessions: each key names a session (created on first sight); items store its id from here on.
    const sessionItems = opts.sessionIdsResolved ? [] : [...executionsOk, ...decisions.filter(isOpen), ...messages.filter(isOpen)]
      .filter((p) => p.item.sessionId !== undefined);
    const sessionIds = await resolveSessionKeys(sql, orgId, sessionItems.map((p) => p.item.sessionId!));
    for (const p of sessionItems) p.item.sessionId = sessionIds.get(p.item.sessionId!);

    // Executions: claim keys; the new ones are written, the others may update what is stored.
    const newExec = await repo.claimKeys(sql, orgId, executionsOk.map((e) => ({
      kind: 'execution', clientId: e.item.clientId, id: e.id, itemAt: e.at.toISOString(),
    })));
    const execToWrite = executionsOk.filter((e) => newExec.has(key('execution', e.item.clientId)));
    const execToUpdate = executionsOk.filter((e) => !newExec.has(key('execution', e.item.clientId)) && !opts.createOnly?.has(e.item.clientId));
    const execUpdated: string[] = [];
    if (execToUpdate.length) {
      // Known from the lookup above, unless another batch created the key since.
      const late = execToUpdate.filter((e) => !stored.has(e.item.clientId)).map((e) => e.item.clientId);
      const lateKeys = late.length ? await repo.lookupKeys(sql, 'execution', late) : new Map();
      const candidates = execToUpdate.flatMap((e) => {
        const s = stored.get(e.item.clientId) ?? lateKeys.get(e.item.clientId);
        return s ? [{ e, c: { id: s.id, createdAt: s.itemAt.toISOString(), item: e.item, raw: e.raw, agentId: agentOf.get(e.result) ?? undefined } }] : [];
      });
      const outcomes = await applyExecutionUpdates(sql, candidates.map((x) => x.c), versionAgent);
      for (const { e, c } of candidates) {
        const o = outcomes.get(c.id);
        e.result.id = c.id;
        if (o?.status === 'rejected') reject(e.result, o.code, o.error, o.field);
        else if (o?.status === 'updated') {
          updated.add(e.result);
          execUpdated.push(c.id);
          if ('status' in e.raw) ended.push({ id: c.id, agentId: o.agentId, item: e.item, from: o.from });
        }
      }
    }

    // Children name their execution by clientId; resolve through the keys (this batch's included).
    const refs = [...new Set([...spans, ...decisions, ...messages].map((p) => p.item.executionClientId).filter((x): x is string => !!x))];
    const execKeys = await repo.lookupKeys(sql, 'execution', refs);
    const resolve = <T extends { executionClientId?: string | undefined }>(list: Pending<T>[]) =>
      list.filter((p) => {
        if (!isOpen(p)) return false;
        if (!p.item.executionClientId || execKeys.has(p.item.executionClientId)) return true;
        reject(p.result, 'unknown_reference', `executionClientId: no execution with clientId ${p.item.executionClientId} has been ingested`, 'executionClientId');
        return false;
      });
    const spansOk = resolve(spans);
    const decisionsOk = resolve(decisions);
    const messagesOk = resolve(messages);

    const childKeys = [
      ...spansOk.map((p) => ({ kind: 'span' as const, clientId: p.item.clientId, id: p.id, itemAt: p.at.toISOString() })),
      ...decisionsOk.map((p) => ({ kind: 'decision' as const, clientId: p.item.clientId, id: p.id, itemAt: p.at.toISOString() })),
      ...messagesOk.map((p) => ({ kind: 'message' as const, clientId: p.item.clientId, id: p.id, itemAt: p.at.toISOString() })),
    ];
    const newChild = await repo.claimKeys(sql, orgId, childKeys);
    const isNew = (kind: IngestKind) => (p: Pending<{ clientId: string }>) => newChild.has(key(kind, p.item.clientId));
    const spansToWrite = spansOk.filter(isNew('span'));
    const decisionsToWrite = decisionsOk.filter(isNew('decision'));
    const messagesToWrite = messagesOk.filter(isNew('message'));

    const execOf = (p: Pending<{ executionClientId?: string | undefined }>) =>
      p.item.executionClientId ? execKeys.get(p.item.executionClientId) : undefined;

    const spanIds = new Map(spansToWrite.map((p) => [p.id, p.item.spanId ?? randomBytes(8).toString('hex')]));
    // One ledger row per (execution, span id): of two such spans in one batch the last one counts, as it would across batches.
    const priced = [...new Map(spansToWrite.filter((p) => p.item.kind === 'llm_call' && p.item.model)
      .map((p) => [`${execOf(p)!.id}:${spanIds.get(p.id)}`, p])).values()];
    const newExecById = new Map(execToWrite.map((e) => [e.id, e]));
    const costs = await repo.upsertLedger(sql, orgId, priced.map((p) => ({
      ...ledgerAttributes(newExecById.get(execOf(p)!.id), agentOf),
      ref: p.id, started_at: p.item.startedAt, span_id: spanIds.get(p.id), execution_id: execOf(p)!.id,
      execution_created_at: execOf(p)!.itemAt.toISOString(), provider: p.item.provider, model: p.item.model,
      prompt: p.item.promptTokens ?? 0, completion: p.item.completionTokens ?? 0, cached: p.item.cachedTokens ?? 0,
      cache_write: p.item.cacheWriteTokens ?? 0, reasoning: p.item.reasoningTokens ?? 0, client_cost: p.item.costUsd,
      usage_category: p.item.usageCategory, usage_type: p.item.usageType, alternative_model: p.item.alternativeModel,
    })));
    await repo.insertExecutions(sql, orgId, execToWrite.map(({ id, at, item: v, result }) => ({
      id, agent_id: agentOf.get(result), agent_version_id: v.agentVersionId, user_id: v.userId, session_id: v.sessionId,
      parent_execution_id: v.parentExecutionId, plan_id: v.planId, model_provider: v.modelProvider, model_name: v.modelName,
      input: v.input, output: v.output, status: v.status, error_code: v.errorCode, error_message: v.errorMessage,
      retry_count: v.retryCount, max_retries: v.maxRetries, queue_time_ms: v.queueTimeMs, execution_time_ms: v.executionTimeMs,
      latency_ms: v.latencyMs, started_at: v.startedAt, completed_at: v.completedAt, prompt_tokens: v.promptTokens,
      completion_tokens: v.completionTokens, cached_tokens: v.cachedTokens, cache_write_tokens: v.cacheWriteTokens,
      reasoning_tokens: v.reasoningTokens, total_tokens: v.totalTokens, cost_usd: v.costUsd,
      result_quality_score: v.resultQualityScore, user_satisfaction_score: v.userSatisfactionScore, tool_calls: v.toolCalls,
      trace_id: v.traceId, span_id: v.spanId, parent_span_id: v.parentSpanId, correlation_id: v.correlationId,
      request_id: v.requestId, client_id: v.clientId, metadata: v.metadata, tags: v.tags, created_at: at.toISOString(),
    })));

    await repo.insertSpans(sql, orgId, spansToWrite.map(({ id, item: v, ...p }) => ({
      id, execution_id: execOf({ id, item: v, ...p })!.id, execution_created_at: execOf({ id, item: v, ...p })!.itemAt.toISOString(),
      kind: v.kind, trace_id: v.traceId, span_id: spanIds.get(id), parent_span_id: v.parentSpanId, name: v.name,
      model: v.model, provider: v.provider, prompt_tokens: v.promptTokens, completion_tokens: v.completionTokens,
      cached_tokens: v.cachedTokens, cache_write_tokens: v.cacheWriteTokens, reasoning_tokens: v.reasoningTokens,
      total_tokens: v.totalTokens, cost_usd: costs.get(id) ?? v.costUsd, tool_name: v.toolName, tool_status: v.toolStatus,
      step_number: v.stepNumber, reasoning: v.reasoning, confidence: v.confidence, input: v.input, output: v.output,
      status: v.status, error_message: v.errorMessage, started_at: v.startedAt, ended_at: v.endedAt,
      duration_ms: v.durationMs, attributes: v.attributes, client_id: v.clientId,
    })));
    await repo.insertDecisions(sql, orgId, decisionsToWrite.map(({ id, item: v, ...p }) => ({
      id, decision_id: v.clientId, agent_id: v.agentId, execution_id: execOf({ id, item: v, ...p })?.id,
      execution_created_at: execOf({ id, item: v, ...p })?.itemAt.toISOString(), session_id: v.sessionId, plan_id: v.planId,
      decided_at: v.decidedAt, decision_type: v.decisionType, reasoning_chain: v.reasoningChain,
      data_sources: v.dataSources, confidence: v.confidence, metadata: v.metadata, model_used: v.modelUsed,
      latency_ms: v.latencyMs, error_message: v.errorMessage, tags: v.tags,
    })));
    await repo.insertMessages(sql, orgId, messagesToWrite.map(({ id, item: v, ...p }) => ({
      id, plan_id: v.planId, execution_id: execOf({ id, item: v, ...p })?.id,
      execution_created_at: execOf({ id, item: v, ...p })?.itemAt.toISOString(), session_id: v.sessionId,
      from_agent_id: v.fromAgentId, to_agent_id: v.toAgentId, from_agent: v.fromAgent, to_agent: v.toAgent,
      message_type: v.messageType, message_data: v.messageData, priority: v.priority, response_data: v.responseData,
      response_time_ms: v.responseTimeMs, status: v.status, error_message: v.errorMessage, retry_count: v.retryCount,
      sent_at: v.sentAt, delivered_at: v.deliveredAt, received_at: v.receivedAt, processed_at: v.processedAt,
      trace_id: v.traceId, correlation_id: v.correlationId, client_id: v.clientId, metadata: v.metadata, tags: v.tags,
    })));
    await updateMessages(sql, messagesOk.filter((p) => !isNew('message')(p)), updated);

    // Totals of stored executions that a late span or an update touched (new ones were written with theirs).
    await repo.rollUp(sql, [...new Set([...execUpdated, ...priced.map((p) => execOf(p)!.id).filter((id) => !newExecById.has(id))])]);
    // Cached cost and performance reports read the roll-ups these writes change: dropped with this commit (one statement).
    if (priced.length || execToWrite.length || execUpdated.length) await invalidate(sql, orgId, [COSTS_CACHE_TAG]);

    // Outcomes: written items are accepted; the rest of the valid ones were ingested before.
    const written = new Set([...execToWrite, ...spansToWrite, ...decisionsToWrite, ...messagesToWrite].map((p) => p.result));
    const dupes: Record<IngestKind, Pending<{ clientId: string }>[]> = { execution: [], span: [], decision: [], message: [] };
    for (const p of [...executionsOk, ...spansOk, ...decisionsOk, ...messagesOk]) {
      if (written.has(p.result)) {
        p.result.status = 'accepted';
        p.result.id = p.id;
      } else if (updated.has(p.result)) p.result.status = 'updated';
      else if (p.result.error === undefined) dupes[p.result.kind].push(p);
    }
    for (const kind of Object.keys(dupes) as IngestKind[]) {
      const list = dupes[kind];
      if (!list.length) continue;
      const stored = await repo.lookupKeys(sql, kind, list.map((p) => p.item.clientId));
      for (const p of list) {
        p.result.status = 'duplicate';
        const s = stored.get(p.item.clientId);
        if (s) p.result.id = s.id;
      }
    }

    // Telemetry counts against its monthly limit in the transaction that writes it; over the limit, nothing is written.
    if (opts.telemetry !== false) await chargeIngestedSpans(sql, orgId, spansToWrite.length, now);

    // Webhook events of executions that ended here, with the batch (one lookup when nobody subscribes).
    for (const e of execToWrite) ended.push({ id: e.id, agentId: agentOf.get(e.result) ?? null, item: e.item });
    await emitEvents(sql, orgId, executionEvents(ended));

    const counts = tally(results);
    if (opts.within) await opts.within(sql, { ...counts, results: [...results] });
  }).catch(async (err: unknown) => {
    // A monthly quota refused the batch (or the run it records): tell subscribed endpoints, once a month.
    await reportQuotaRefusal(deps.db, orgId, err, now);
    throw err;
  });

  results.sort((a, b) => KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || a.index - b.index);
  deps.onIngested?.(results);
  return { ...tally(results), results };
}

const KIND_ORDER: Record<IngestKind, number> = { execution: 0, span: 1, decision: 2, message: 3 };

/** What the ledger copies from an execution written in this batch (a stored one is looked up instead). */
function ledgerAttributes(e: Pending<ExecutionItem> | undefined, agentOf: Map<ItemResult, string | null>) {
  if (!e) return { known: false };
  return {
    known: true, user_id: e.item.userId, agent_id: agentOf.get(e.result), session_id: e.item.sessionId, plan_id: e.item.planId,
    tags: e.item.tags ?? [],
  };
}

/** Messages sent again move along their delivery lifecycle (see message-updates.ts). */
async function updateMessages(sql: Sql, resent: Pending<MessageItem>[], updated: Set<ItemResult>): Promise<void> {
  if (!resent.length) return;
  const stored = await repo.lookupKeys(sql, 'message', resent.map((p) => p.item.clientId));
  const candidates = resent.flatMap((p) => {
    const s = stored.get(p.item.clientId);
    return s ? [{ p, id: s.id }] : [];
  });
  const outcomes = await applyMessageUpdates(sql, candidates.map(({ p, id }) => ({ id, item: p.item, raw: p.raw })));
  for (const { p, id } of candidates) {
    const o = outcomes.get(id);
    p.result.id = id;
    if (o?.status === 'rejected') reject(p.result, o.code, o.error);
    else if (o?.status === 'updated') updated.add(p.result);
  }
}

function tally(results: ItemResult[]): { accepted: number; updated: number; duplicate: number; rejected: number } {
  const c = { accepted: 0, updated: 0, duplicate: 0, rejected: 0 };
  for (const r of results) c[r.status] += 1;
  return c;
}
