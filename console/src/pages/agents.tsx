import { useEffect, useState } from 'preact/hooks';
import { errorText, type Api, type Page } from '../api.js';
import { payload, when } from '../format.js';
import { linkTo } from '../router.js';
import { LoadMore, useCursorList } from '../use-cursor-list.js';

interface Agent {
  id: string;
  name: string;
  slug: string;
  description: string | null;
  type: string;
  model: string;
  status: string;
  currentVersion: string | null;
  tools: unknown[];
  systemPrompt: string | null;
  version: number;
  updatedAt: string;
}

interface Capability {
  capability: string;
  proficiency: number;
}

const STATUSES = ['draft', 'active', 'paused', 'stopped', 'learning', 'archived'];

interface Version {
  id: string;
  version: string;
  changelog: string | null;
  model: string;
  isCurrent: boolean;
  isPublished: boolean;
  createdAt: string;
}

interface Diff {
  from: string;
  to: string;
  changes: { field: string; from: unknown; to: unknown }[];
}

const link = linkTo;

/** The organization's agents, 50 at a time; a row opens the agent. */
export function AgentsPage({ api }: { api: Api }) {
  const list = useCursorList<Agent>((after) => api.get<Page<Agent>>(`/v1/agents?limit=50${after ? `&cursor=${encodeURIComponent(after)}` : ''}`), []);
  return (
    <section aria-labelledby="agents-title">
      <h1 id="agents-title">Agents</h1>
      {list.error && <p role="alert" class="error">{list.error}</p>}
      {list.loaded && list.rows.length === 0 ? (
        <p class="empty">No agents yet. Create one with <code>POST /v1/agents</code> (a name and a slug), then publish a version with <code>POST /v1/agents/{'{id}'}/versions</code>.</p>
      ) : (
        <div class="table-wrap">
          <table>
            <caption class="sr-only">Agents</caption>
            <thead><tr><th scope="col">Name</th><th scope="col">Slug</th><th scope="col">Status</th><th scope="col">Model</th><th scope="col">Current version</th><th scope="col">Updated</th></tr></thead>
            <tbody>
              {list.rows.map((a) => (
                <tr key={a.id}>
                  <td><a href={`/console/agents/${a.id}`} onClick={link(`agents/${a.id}`)}>{a.name}</a></td>
                  <td><code>{a.slug}</code></td>
                  <td><span class={`status status-${a.status}`}>{a.status}</span></td>
                  <td>{a.model}</td>
                  <td>{a.currentVersion ?? '—'}</td>
                  <td>{when(a.updatedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <LoadMore list={list} />
    </section>
  );
}

const shown = (v: unknown) => (v === undefined ? '(absent)' : payload(v, 2000));

interface RunView {
  executionId: string | null;
  text: string;
  tools: { id: string; name: string; done: boolean; isError: boolean }[];
  status: 'running' | 'completed' | 'failed';
  error: string | null;
}

/** Starts a run of the agent and shows it as it streams: the text as it arrives, tool calls, the outcome, a link to its trace. */
function RunPanel({ api, agentId }: { api: Api; agentId: string }) {
  const [input, setInput] = useState('');
  const [run, setRun] = useState<RunView | null>(null);

  const start = async (e: Event) => {
    e.preventDefault();
    let view: RunView = { executionId: null, text: '', tools: [], status: 'running', error: null };
    const update = (change: Partial<RunView>) => {
      view = { ...view, ...change };
      setRun(view);
    };
    update({});
    try {
      await api.stream(`/v1/agents/${encodeURIComponent(agentId)}/runs`, { input, mode: 'stream' }, (event, data) => {
        const d = data as Record<string, unknown>;
        if (event === 'execution') update({ executionId: String(d.executionId) });
        else if (event === 'delta') update({ text: view.text + String(d.text) });
        else if (event === 'tool_call') update({ tools: [...view.tools, { id: String(d.id), name: String(d.name), done: false, isError: false }] });
        else if (event === 'tool_result') update({ tools: view.tools.map((t) => (t.id === d.id ? { ...t, done: true, isError: d.isError === true } : t)) });
        else if (event === 'done') update({ status: 'completed' });
        else if (event === 'error') update({ status: 'failed', error: String(d.message ?? d.code) });
      });
      if (view.status === 'running') update({ status: 'failed', error: 'the stream ended before the run finished; see its trace' });
    } catch (err) {
      update({ status: 'failed', error: errorText(err) });
    }
  };

  return (
    <div class="card">
      <h2>Run it</h2>
      <form onSubmit={start} aria-label="Start a run">
        <label>
          Input
          <textarea name="input" rows={3} required value={input} onInput={(e) => setInput(e.currentTarget.value)} />
        </label>
        <button type="submit" disabled={run?.status === 'running' || !input.trim()}>Start run</button>
      </form>
      {run && (
        <div class="run" aria-live="polite">
          <p>
            <span class={`status status-${run.status}`} data-testid="run-status">{run.status}</span>
            {run.executionId && (
              <> · <a href={`/console/runs/${run.executionId}`} onClick={link(`runs/${run.executionId}`)}>trace</a></>
            )}
          </p>
          {run.tools.length > 0 && (
            <ul class="tool-calls">
              {run.tools.map((t) => <li key={t.id}>{t.name} {t.done ? (t.isError ? '— failed' : '— done') : '…'}</li>)}
            </ul>
          )}
          <pre data-testid="run-output">{run.text || ' '}</pre>
          {run.error && <p class="error">{run.error}</p>}
        </div>
      )}
    </div>
  );
}

/** One agent: its working configuration, tools, versions, and the field-by-field diff of any two versions. */
export function AgentPage({ api, id }: { api: Api; id: string }) {
  const [agent, setAgent] = useState<Agent | null>(null);
  const [versions, setVersions] = useState<Version[]>([]);
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [diff, setDiff] = useState<Diff | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [capabilities, setCapabilities] = useState<Capability[]>([]);
  const [nextStatus, setNextStatus] = useState('');

  useEffect(() => {
    const fail = (err: unknown) => setError(errorText(err));
    api.get<Agent>(`/v1/agents/${encodeURIComponent(id)}`).then(setAgent, fail);
    api.get<Page<Capability>>(`/v1/agents/${encodeURIComponent(id)}/capabilities?limit=100`).then((p) => setCapabilities(p.data), () => setCapabilities([]));
    api.get<Page<Version>>(`/v1/agents/${encodeURIComponent(id)}/versions?limit=100`).then((p) => {
      setVersions(p.data);
      // newest first: compare the one before the newest with the newest
      if (p.data.length >= 2) {
        setFrom(p.data[1]!.version);
        setTo(p.data[0]!.version);
      }
    }, fail);
  }, [id]);

  const compare = async (e: Event) => {
    e.preventDefault();
    try {
      setDiff(await api.get<Diff>(`/v1/agents/${encodeURIComponent(id)}/versions/${encodeURIComponent(from)}/diff/${encodeURIComponent(to)}`));
      setError(null);
    } catch (err) {
      setError(errorText(err));
    }
  };

  // The service decides which moves are legal (a refused one says which are); the form offers every other status.
  const changeStatus = async (e: Event) => {
    e.preventDefault();
    if (!agent || !nextStatus) return;
    try {
      setAgent(await api.post<Agent>(`/v1/agents/${encodeURIComponent(id)}/status`, { status: nextStatus, version: agent.version }));
      setNextStatus('');
      setError(null);
    } catch (err) {
      setError(errorText(err));
    }
  };

  if (!agent) return error ? <p role="alert" class="error">{error}</p> : <p aria-busy="true">Loading…</p>;
  return (
    <section aria-labelledby="agent-title">
      <p><a href="/console/agents" onClick={link('agents')}>← Agents</a></p>
      <h1 id="agent-title">{agent.name}</h1>
      {error && <p role="alert" class="error">{error}</p>}
      <dl class="figures">
        <div><dt>Slug</dt><dd><code>{agent.slug}</code></dd></div>
        <div><dt>Status</dt><dd><span class={`status status-${agent.status}`}>{agent.status}</span></dd></div>
        <div><dt>Type</dt><dd>{agent.type}</dd></div>
        <div><dt>Model</dt><dd>{agent.model}</dd></div>
        <div><dt>Current version</dt><dd>{agent.currentVersion ?? '—'}</dd></div>
      </dl>
      {agent.description && <p>{agent.description}</p>}
      <form class="card diff-form" onSubmit={changeStatus} aria-label="Change the agent's status">
        <label>
          New status
          <select name="status" value={nextStatus} onChange={(e) => setNextStatus(e.currentTarget.value)}>
            <option value="">choose…</option>
            {STATUSES.filter((x) => x !== agent.status).map((x) => <option key={x} value={x}>{x}</option>)}
          </select>
        </label>
        <button type="submit" disabled={!nextStatus}>Change status</button>
      </form>
      <p>
        <a href={`/console/runs?agentId=${agent.id}`} onClick={link(`runs?agentId=${agent.id}`)}>Runs of this agent</a>
      </p>
      <RunPanel api={api} agentId={agent.id} />
      <h2>System prompt</h2>
      <pre>{agent.systemPrompt || '—'}</pre>
      <h2>Tools</h2>
      {agent.tools.length === 0 ? <p class="empty">No tools.</p> : <pre>{payload(agent.tools)}</pre>}
      <h2>Capabilities</h2>
      {capabilities.length === 0 ? <p class="empty">No capabilities recorded (<code>PUT /v1/agents/{agent.id}/capabilities/{'{name}'}</code>).</p> : (
        <ul class="capabilities">
          {capabilities.map((c) => <li key={c.capability}>{c.capability} <span class="hint">proficiency {c.proficiency}</span></li>)}
        </ul>
      )}
      <h2>Versions</h2>
      {versions.length === 0 ? <p class="empty">No version published yet: <code>POST /v1/agents/{agent.id}/versions</code>.</p> : (
        <div class="table-wrap">
          <table>
            <caption class="sr-only">Versions, newest first</caption>
            <thead><tr><th scope="col">Version</th><th scope="col">Model</th><th scope="col">Changelog</th><th scope="col">Published</th></tr></thead>
            <tbody>
              {versions.map((v) => (
                <tr key={v.id}>
                  <td>{v.version}{v.isCurrent && <span class="status status-completed"> current</span>}</td>
                  <td>{v.model}</td>
                  <td>{v.changelog ?? '—'}</td>
                  <td>{when(v.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {versions.length >= 2 && (
        <form class="card diff-form" onSubmit={compare} aria-label="Compare two versions">
          <label>From<select name="from" value={from} onChange={(e) => setFrom(e.currentTarget.value)}>{versions.map((v) => <option key={v.id} value={v.version}>{v.version}</option>)}</select></label>
          <label>To<select name="to" value={to} onChange={(e) => setTo(e.currentTarget.value)}>{versions.map((v) => <option key={v.id} value={v.version}>{v.version}</option>)}</select></label>
          <button type="submit">Compare</button>
        </form>
      )}
      {diff && (
        diff.changes.length === 0 ? <p class="empty">{diff.from} and {diff.to} have the same configuration.</p> : (
          <div class="table-wrap">
            <table class="diff">
              <caption>Changes from {diff.from} to {diff.to}</caption>
              <thead><tr><th scope="col">Field</th><th scope="col">{diff.from}</th><th scope="col">{diff.to}</th></tr></thead>
              <tbody>
                {diff.changes.map((c) => (
                  <tr key={c.field}><td><code>{c.field}</code></td><td><pre class="old">{shown(c.from)}</pre></td><td><pre class="new">{shown(c.to)}</pre></td></tr>
                ))}
              </tbody>
            </table>
          </div>
        )
      )}
    </section>
  );
}
