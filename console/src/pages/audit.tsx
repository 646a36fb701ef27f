import { useEffect, useState } from 'preact/hooks';
import { errorText, type Api, type Page } from '../api.js';
import { payload, when } from '../format.js';

interface AuditRow {
  id: string;
  seq: number;
  actorType: string;
  userId: string | null;
  apiKeyId: string | null;
  action: string;
  resourceType: string;
  resourceId: string | null;
  oldValues: unknown;
  newValues: unknown;
  ipAddress: string | null;
  requestId: string | null;
  createdAt: string;
}

interface ChainReport {
  ok: boolean;
  rowsChecked: number;
  lastSeq: number;
  firstBreak?: { seq: number; reason: string; message: string };
}

interface Filters {
  action: string;
  resourceType: string;
  resourceId: string;
  from: string;
  to: string;
}
const NONE: Filters = { action: '', resourceType: '', resourceId: '', from: '', to: '' };

function query(f: Filters, cursor: string | null): string {
  const q = new URLSearchParams({ limit: '50' });
  for (const [k, v] of Object.entries(f)) if (v) q.set(k, k === 'from' || k === 'to' ? new Date(v).toISOString() : v);
  if (cursor) q.set('cursor', cursor);
  return q.toString();
}

/** The organization's audit log, newest first, with filters; each row opens its before and after; the hash chain verified on demand. */
export function AuditPage({ api }: { api: Api }) {
  const [filters, setFilters] = useState<Filters>(NONE);
  const [applied, setApplied] = useState<Filters>(NONE);
  const [rows, setRows] = useState<AuditRow[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [chain, setChain] = useState<ChainReport | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = async (f: Filters, after: string | null) => {
    try {
      const p = await api.get<Page<AuditRow>>(`/v1/audit?${query(f, after)}`);
      setRows((r) => (after ? [...r, ...p.data] : p.data));
      setCursor(p.nextCursor);
      setError(null);
    } catch (err) {
      setError(errorText(err));
    }
  };
  useEffect(() => {
    void load(applied, null);
  }, [applied]);

  const verify = async () => {
    setChain(null);
    try {
      setChain(await api.get<ChainReport>('/v1/audit/verify'));
    } catch (err) {
      setError(errorText(err));
    }
  };
  const set = (k: keyof Filters) => (e: Event) => setFilters({ ...filters, [k]: (e.currentTarget as HTMLInputElement).value });

  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit log</h1>
      <div class="card">
        <button type="button" onClick={() => void verify()}>Verify the hash chain</button>
        {chain && (
          <p role="status" class={chain.ok ? 'ok' : 'error'} data-testid="chain">
            {chain.ok
              ? `The chain is intact: ${chain.rowsChecked.toLocaleString()} rows checked, up to seq ${chain.lastSeq}.`
              : `The chain is broken at seq ${chain.firstBreak?.seq}: ${chain.firstBreak?.message} (${chain.rowsChecked.toLocaleString()} rows checked before it).`}
          </p>
        )}
      </div>
      <form class="card filters" aria-label="Filter the audit log" onSubmit={(e) => { e.preventDefault(); setApplied(filters); }}>
        <label>Action<input name="action" placeholder="agent.created" value={filters.action} onInput={set('action')} /></label>
        <label>Resource type<input name="resourceType" placeholder="agent" value={filters.resourceType} onInput={set('resourceType')} /></label>
        <label>Resource id<input name="resourceId" value={filters.resourceId} onInput={set('resourceId')} /></label>
        <label>From<input name="from" type="datetime-local" value={filters.from} onInput={set('from')} /></label>
        <label>To<input name="to" type="datetime-local" value={filters.to} onInput={set('to')} /></label>
        <div class="actions">
          <button type="submit">Apply</button>
          <button type="button" class="secondary" onClick={() => { setFilters(NONE); setApplied(NONE); }}>Clear</button>
        </div>
      </form>
      {error && <p role="alert" class="error">{error}</p>}
      {rows.length === 0 ? <p class="empty">No audit rows match.</p> : (
        <ol class="audit" aria-label="Audit rows, newest first">
          {rows.map((r) => (
            <li key={r.id}>
              <button type="button" class="audit-row" aria-expanded={open === r.id} onClick={() => setOpen(open === r.id ? null : r.id)}>
                <span class="seq">#{r.seq}</span>
                <span>{when(r.createdAt)}</span>
                <strong>{r.action}</strong>
                <span>{r.resourceType}{r.resourceId ? ` ${r.resourceId}` : ''}</span>
                <span class="hint">{r.actorType}{r.userId ? ` ${r.userId.slice(0, 8)}` : ''}</span>
              </button>
              {open === r.id && (
                <div class="span-detail">
                  <dl>
                    <dt>Request</dt><dd>{r.requestId ?? '—'}</dd>
                    <dt>Address</dt><dd>{r.ipAddress ?? '—'}</dd>
                    {r.apiKeyId && <><dt>API key</dt><dd>{r.apiKeyId}</dd></>}
                  </dl>
                  <h4>Before</h4>
                  <pre>{payload(r.oldValues)}</pre>
                  <h4>After</h4>
                  <pre>{payload(r.newValues)}</pre>
                </div>
              )}
            </li>
          ))}
        </ol>
      )}
      {cursor && <button type="button" onClick={() => void load(applied, cursor)}>Load more</button>}
    </section>
  );
}
