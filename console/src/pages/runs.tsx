import { useEffect, useState } from 'preact/hooks';
import { errorText, type Api, type Page } from '../api.js';
import { count, ms, usd, when } from '../format.js';
import { navigate } from '../router.js';

export interface Execution {
  id: string;
  agentId: string | null;
  sessionId: string | null;
  status: string;
  modelName: string | null;
  errorMessage: string | null;
  latencyMs: number | null;
  totalTokens: number;
  costUsd: number;
  createdAt: string;
  startedAt: string | null;
  completedAt: string | null;
  traceId: string | null;
  tags?: string[];
}

interface Agent {
  id: string;
  name: string;
  slug: string;
}

const STATUSES = ['pending', 'queued', 'running', 'completed', 'failed', 'cancelled', 'timeout'];

interface Filters {
  agentId: string;
  status: string;
  sessionId: string;
  tag: string;
  from: string;
  to: string;
  minCost: string;
  maxCost: string;
}
const NO_FILTERS: Filters = { agentId: '', status: '', sessionId: '', tag: '', from: '', to: '', minCost: '', maxCost: '' };

function query(f: Filters, cursor: string | null): string {
  const q = new URLSearchParams({ limit: '50' });
  for (const [k, v] of Object.entries(f)) {
    if (!v) continue;
    // datetime-local inputs give local wall-clock time; the API takes instants
    q.set(k, k === 'from' || k === 'to' ? new Date(v).toISOString() : v);
  }
  if (cursor) q.set('cursor', cursor);
  return q.toString();
}

/** Executions, newest first: filters (agent, status, session, tag, time, cost), pages by cursor, a row opens the trace. */
export function RunsPage({ api }: { api: Api }) {
  const [agents, setAgents] = useState<Agent[]>([]);
  // an agent's page links here with ?agentId=…
  const initial = { ...NO_FILTERS, agentId: new URLSearchParams(location.search).get('agentId') ?? '' };
  const [filters, setFilters] = useState<Filters>(initial);
  const [applied, setApplied] = useState<Filters>(initial);
  const [rows, setRows] = useState<Execution[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    api.get<Page<Agent>>('/v1/agents?limit=100').then((p) => setAgents(p.data), () => setAgents([]));
  }, []);

  const load = async (f: Filters, after: string | null) => {
    try {
      const page = await api.get<Page<Execution>>(`/v1/executions?${query(f, after)}`);
      setRows((r) => (after ? [...r, ...page.data] : page.data));
      setCursor(page.nextCursor);
      setError(null);
      setLoaded(true);
    } catch (err) {
      setError(errorText(err));
    }
  };
  useEffect(() => {
    void load(applied, null);
  }, [applied]);

  const agentName = (id: string | null) => (id ? agents.find((a) => a.id === id)?.name ?? id.slice(0, 8) : '—');
  const set = (k: keyof Filters) => (e: Event) => setFilters({ ...filters, [k]: (e.currentTarget as HTMLInputElement).value });
  const anyFilter = Object.values(applied).some(Boolean);

  return (
    <section aria-labelledby="runs-title">
      <h1 id="runs-title">Runs</h1>
      <form
        class="card filters" aria-label="Filter runs"
        onSubmit={(e) => {
          e.preventDefault();
          setApplied(filters);
        }}
      >
        <label>
          Agent
          <select name="agentId" value={filters.agentId} onChange={set('agentId')}>
            <option value="">any</option>
            {/* an agent chosen by the link it came from, before the list has loaded (or past its first 100) */}
            {filters.agentId && !agents.some((a) => a.id === filters.agentId) && <option value={filters.agentId}>{filters.agentId.slice(0, 8)}</option>}
            {agents.map((a) => <option key={a.id} value={a.id}>{a.name}</option>)}
          </select>
        </label>
        <label>
          Status
          <select name="status" value={filters.status} onChange={set('status')}>
            <option value="">any</option>
            {STATUSES.map((s) => <option key={s} value={s}>{s}</option>)}
          </select>
        </label>
        <label>Session<input name="sessionId" value={filters.sessionId} onInput={set('sessionId')} /></label>
        <label>Tag<input name="tag" value={filters.tag} onInput={set('tag')} /></label>
        <label>From<input name="from" type="datetime-local" value={filters.from} onInput={set('from')} /></label>
        <label>To<input name="to" type="datetime-local" value={filters.to} onInput={set('to')} /></label>
        <label>Min cost (USD)<input name="minCost" type="number" min="0" step="any" value={filters.minCost} onInput={set('minCost')} /></label>
        <label>Max cost (USD)<input name="maxCost" type="number" min="0" step="any" value={filters.maxCost} onInput={set('maxCost')} /></label>
        <div class="actions">
          <button type="submit">Apply</button>
          <button type="button" class="secondary" onClick={() => { setFilters(NO_FILTERS); setApplied(NO_FILTERS); }}>Clear</button>
        </div>
      </form>
      {error && <p role="alert" class="error">{error}</p>}
      {loaded && rows.length === 0 ? (
        anyFilter ? <p class="empty">No run matches these filters.</p> : (
          <div class="empty">
            <p>No runs yet. Send a first trace from your application, for example:</p>
            <pre>{`curl -X POST ${location.origin}/v1/ingest/batch \\
  -H "Authorization: Bearer $AGENTBASE_API_KEY" -H 'content-type: application/json' \\
  -d '{"executions":[{"clientId":"run-1","status":"completed"}],
       "spans":[{"clientId":"s-1","executionClientId":"run-1","kind":"llm_call","name":"chat",
                 "model":"gpt-4o","provider":"openai","promptTokens":120,"completionTokens":40}]}'`}</pre>
          </div>
        )
      ) : (
        <div class="table-wrap">
          <table>
            <caption class="sr-only">Runs, newest first</caption>
            <thead>
              <tr><th scope="col">Started</th><th scope="col">Agent</th><th scope="col">Status</th><th scope="col">Model</th><th scope="col">Latency</th><th scope="col">Tokens</th><th scope="col">Cost</th><th scope="col">Session</th></tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.id} class={r.status === 'failed' || r.status === 'timeout' ? 'failed' : undefined}>
                  <td>
                    <a href={`/console/runs/${r.id}`} onClick={(e) => { e.preventDefault(); navigate(`runs/${r.id}`); }}>{when(r.startedAt ?? r.createdAt)}</a>
                  </td>
                  <td>{agentName(r.agentId)}</td>
                  <td><span class={`status status-${r.status}`}>{r.status}</span></td>
                  <td>{r.modelName ?? '—'}</td>
                  <td>{ms(r.latencyMs)}</td>
                  <td>{count(r.totalTokens)}</td>
                  <td>{usd(r.costUsd)}</td>
                  <td>{r.sessionId ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {cursor && <button type="button" onClick={() => void load(applied, cursor)}>Load more</button>}
    </section>
  );
}
