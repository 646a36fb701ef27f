import type { Database } from '../db/index.js';
import { allOrganizationIds, chainHead, chainPage, firstRowAfter } from './audit-repo.js';
import { chainHash, GENESIS_HASH } from './chain.js';
import { piiDigest } from './pii.js';

export type BreakReason =
  | 'hash_mismatch' // the row's content was edited
  | 'prev_hash_mismatch' // a row before it was deleted, inserted or moved
  | 'seq_gap' // rows are missing
  | 'seq_duplicate' // a row was inserted with a seq already used
  | 'head_mismatch' // rows at the end were deleted, or the head was altered
  | 'pii_mismatch'; // the personal data kept beside the row (audit_pii) was changed

export interface ChainBreak {
  seq: number;
  id: string | null;
  reason: BreakReason;
  message: string;
}

export interface ChainReport {
  orgId: string;
  ok: boolean;
  rowsChecked: number;
  lastSeq: number;
  firstBreak: ChainBreak | null;
}

const PAGE = 2000;
const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

/** Walks one organization's chain from the first row and reports the first row that breaks it. */
export async function verifyChain(db: Database, orgId: string): Promise<ChainReport> {
  return db.tenant(orgId, async (sql) => {
    // Read the head first and check only rows up to it: rows appended while we
    // walk commit together with a later head, so they are not ours to judge.
    const head = await chainHead(sql, orgId);
    const headSeq = head?.seq ?? 0;
    const headHash = head?.lastHash ?? GENESIS_HASH;
    let prevHash = GENESIS_HASH;
    let expected = 1;
    let checked = 0;
    let cursor = { seq: 0, id: ZERO_UUID };
    const fail = (b: ChainBreak): ChainReport => ({ orgId, ok: false, rowsChecked: checked, lastSeq: expected - 1, firstBreak: b });
    for (;;) {
      const rows = await chainPage(sql, orgId, cursor, PAGE);
      for (const row of rows) {
        if (row.seq > headSeq) break;
        if (row.seq < expected) {
          return fail({ seq: row.seq, id: row.id, reason: 'seq_duplicate', message: `row ${row.id} repeats seq ${row.seq}` });
        }
        if (row.seq > expected) {
          return fail({ seq: expected, id: row.id, reason: 'seq_gap', message: `seq ${expected} is missing (next row has seq ${row.seq})` });
        }
        if (row.prevHash !== prevHash) {
          return fail({ seq: row.seq, id: row.id, reason: 'prev_hash_mismatch', message: `row seq ${row.seq} does not follow the row before it` });
        }
        const recomputed = chainHash(prevHash, row);
        if (recomputed !== row.hash) {
          return fail({ seq: row.seq, id: row.id, reason: 'hash_mismatch', message: `row seq ${row.seq} was changed after it was written` });
        }
        // Erased personal data leaves only the digest, which the row's hash already covers.
        if (row.piiDigest && row.piiData && row.piiSalt && piiDigest(row.piiSalt, row.piiData) !== row.piiDigest) {
          return fail({ seq: row.seq, id: row.id, reason: 'pii_mismatch', message: `the personal data of row seq ${row.seq} was changed after it was written` });
        }
        prevHash = row.hash;
        expected += 1;
        checked += 1;
      }
      if (rows.length < PAGE || rows.at(-1)!.seq > headSeq) break;
      const last = rows.at(-1)!;
      cursor = { seq: last.seq, id: last.id };
    }
    if (headSeq !== expected - 1 || headHash !== prevHash) {
      return fail({
        seq: expected,
        id: null,
        reason: 'head_mismatch',
        message: `the chain ends at seq ${expected - 1} but its head says ${headSeq}: rows at the end are missing or the head was altered`,
      });
    }
    // A row past the head that the head still does not cover was not written by
    // appendAudit (which moves the head in the same transaction). Re-read the head
    // after finding it, so a concurrent append (row and head commit together) is
    // not mistaken for a forgery.
    const extra = await firstRowAfter(sql, orgId, headSeq);
    if (extra && extra.seq > ((await chainHead(sql, orgId))?.seq ?? 0)) {
      return fail({
        seq: extra.seq,
        id: extra.id,
        reason: 'head_mismatch',
        message: `row seq ${extra.seq} lies beyond the chain head (seq ${headSeq}): it was not appended by agentbase`,
      });
    }
    return { orgId, ok: true, rowsChecked: checked, lastSeq: expected - 1, firstBreak: null };
  });
}

export async function verifyAllChains(db: Database): Promise<ChainReport[]> {
  const ids = await db.transaction((sql) => allOrganizationIds(sql));
  const out: ChainReport[] = [];
  for (const id of ids) out.push(await verifyChain(db, id));
  return out;
}
