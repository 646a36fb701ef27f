import type { IngestKind } from './ingest-repo.js';

/**
 * The answer for each ingested item, and why a rejected one was refused:
 * - invalid:            the item is malformed (the message names the field)
 * - json_too_deep, payload_too_large: a free-form JSON field is past its limits
 * - unknown_reference:  an id or clientId it names does not exist in the
 *                       organization (one of another organization counts as
 *                       nonexistent); `field` names which
 * - outside_retention:  its time, or the item it updates, is outside what is kept
 * - reserved_client_id: the clientId belongs to the agent runtime
 * - invalid_transition: an update would move a status backwards
 */
export type ItemStatus = 'accepted' | 'updated' | 'duplicate' | 'rejected';

export type ItemErrorCode =
  | 'invalid'
  | 'json_too_deep'
  | 'payload_too_large'
  | 'unknown_reference'
  | 'outside_retention'
  | 'reserved_client_id'
  | 'invalid_transition';

export interface ItemResult {
  index: number;
  kind: IngestKind;
  clientId: string | null;
  status: ItemStatus;
  id?: string;
  error?: string;
  code?: ItemErrorCode;
  /** the field an unknown_reference names */
  field?: string;
}

/** An item that passed validation, on its way to being written. */
export interface Pending<T> {
  index: number;
  item: T;
  raw: Record<string, unknown>;
  id: string;
  at: Date;
  result: ItemResult;
}

export function reject(result: ItemResult, code: ItemErrorCode, error: string, field?: string): void {
  result.status = 'rejected';
  result.code = code;
  result.error = error;
  if (field) result.field = field;
}

export const isOpen = (p: { result: ItemResult }): boolean => p.result.error === undefined;
