import type { AgentbaseClient } from './client.js';
import type { AgentbaseError } from './agentbase-error.js';
import type { ItemKind } from './types.js';

/** An item as the application hands it over: the clientId is generated when left out. */
export type Recorded<T extends { clientId: string }> = Omit<T, 'clientId'> & { clientId?: string };

export interface ExporterOptions {
  /** a client to send with; or baseUrl + apiKey (+ timeoutMs) to make one */
  client?: AgentbaseClient;
  baseUrl?: string;
  apiKey?: string;
  /** per request, default 10 000 ms */
  timeoutMs?: number;
  /** send as soon as this many items wait (default 500, at most 5000, the API's limit) */
  maxBatchSize?: number;
  /** a batch holds at most this many characters of JSON (default 4 Mi: under the API's 16 MiB even at 3 bytes a character) */
  maxBatchBytes?: number;
  /** send what waits at least this often (default 1000 ms); the timer never keeps the process alive */
  flushIntervalMs?: number;
  /** items waiting beyond this many drop the oldest (default 10 000) */
  maxQueueSize?: number;
  /** retries of a batch after a network error, timeout, 408, 429 or 5xx before it is dropped (default 10) */
  maxRetries?: number;
  /** back-off ceiling of the first retry (default 100 ms), doubling up to maxBackoffMs (default 30 000 ms) */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** the longest Retry-After obeyed (default 60 000 ms) */
  maxRetryAfterMs?: number;
  /** items lost or refused; called, never awaited, and its exceptions are swallowed */
  onError?: (problem: ExportProblem) => void;
  /** each retry, before its delay */
  onRetry?: (retry: RetryInfo) => void;
}

export type DropReason =
  | 'queue_full' // maxQueueSize reached: the oldest waiting items made room
  | 'invalid_item' // not an object
  | 'not_serializable' // JSON.stringify threw (a cycle, a BigInt)
  | 'client_error' // the API refused the whole batch with a 4xx other than 408/429 (a key without executions:write, say)
  | 'quota_exceeded' // the organization's monthly limit of ingested spans is reached (429 quota_exceeded): not retried
  | 'retries_exhausted'
  | 'shutdown'; // recorded after shutdown(), or still waiting when its timeout ran out

export type ExportProblem =
  | { type: 'rejected'; kind: ItemKind; clientId: string; error: string; item: unknown }
  | { type: 'dropped'; reason: DropReason; count: number; error?: unknown };

export interface RetryInfo {
  attempt: number;
  delayMs: number;
  items: number;
  error: AgentbaseError;
}

export interface ExporterStats {
  /** items the API holds: accepted now, or duplicates of ones it had */
  sent: number;
  /** items the API answered as rejected */
  rejected: number;
  /** items given up before the API judged them */
  dropped: number;
  retries: number;
  batches: number;
  /** waiting or in flight */
  queued: number;
}
