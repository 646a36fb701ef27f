import { useEffect, useState } from 'preact/hooks';
import { errorText, type Api, type Page } from '../api.js';
import { payload, when } from '../format.js';
import { linkTo } from '../router.js';
import { LoadMore, useCursorList } from '../use-cursor-list.js';

interface Workflow {
  id: string;
  name: string;
  status: string;
  version: number;
}

interface WorkflowRun {
  id: string;
  workflowId: string;
  workflowVersion: number;
  status: string;
  input: unknown;
  output: unknown;
  errorMessage: string | null;
  startedAt: string;
  completedAt: string | null;
}

interface StepRun {
  id: string;
  stepKey: string;
  stepType: string;
  status: string;
  attempts: number;
  output: unknown;
  errorMessage: string | null;
  executionId: string | null;
  waitingFor: Record<string, unknown> | null;
}

interface Definition {
  steps: { key: string; type: string }[];
  dependencies: Record<string, string[]>;
}

const RUN_STATUSES = ['pending', 'running', 'waiting', 'completed', 'failed', 'cancelled'];
const FINAL = new Set(['completed', 'failed', 'cancelled']);

const link = linkTo;

/** Workflow runs, newest first, filtered by workflow and status; a run opens its steps as a graph. */
export function WorkflowsPage({ api }: { api: Api }) {
  const [workflows, setWorkflows] = useState<Workflow[]>([]);
  const [workflowId, setWorkflowId] = useState('');
  const [status, setStatus] = useState('');
  const list = useCursorList<WorkflowRun>((after) => {
    const q = new URLSearchParams({ limit: '50' });
    if (workflowId) q.set('workflowId', workflowId);
    if (status) q.set('status', status);
    if (after) q.set('cursor', after);
    return api.get<Page<WorkflowRun>>(`/v1/workflow-executions?${q}`);
  }, [workflowId, status]);

  useEffect(() => {
    api.get<Page<Workflow>>('/v1/workflows?limit=100').then((p) => setWorkflows(p.data), () => setWorkflows([]));
  }, []);
  const nameOf = (id: string) => workflows.find((w) => w.id === id)?.name ?? id.slice(0, 8);

  return (
    <section aria-labelledby="workflows-title">
      <h1 id="workflows-title">Workflows</h1>
      <div class="card filters">
        <label>
          Workflow
          <select name="workflowId" value={workflowId} onChange={(e) => setWorkflowId(e.currentTarget.value)}>
            <option value="">any</option>
            {workflows.map((w) => <option key={w.id} value={w.id}>{w.name}</option>)}
          </select>
        </label>
        <label>
          Status
          <select name="status" value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
            <option value="">any</option>
            {RUN_STATUSES.map((s) => <option key={s} value={s}>{s}</option>)}
          </select>
        </label>
      </div>
      {list.error && <p role="alert" class="error">{list.error}</p>}
      {list.loaded && list.rows.length === 0 ? (
        <p class="empty">No workflow runs{workflowId || status ? ' match' : ' yet'}. Define a workflow with <code>POST /v1/workflows</code> and start it with <code>POST /v1/workflows/{'{id}'}/executions</code>.</p>
      ) : (
        <div class="table-wrap">
          <table>
            <caption class="sr-only">Workflow runs, newest first</caption>
            <thead><tr><th scope="col">Started</th><th scope="col">Workflow</th><th scope="col">Version</th><th scope="col">Status</th><th scope="col">Finished</th></tr></thead>
            <tbody>
              {list.rows.map((r) => (
                <tr key={r.id} class={r.status === 'failed' ? 'failed' : undefined}>
                  <td><a href={`/console/workflows/${r.id}`} onClick={link(`workflows/${r.id}`)}>{when(r.startedAt)}</a></td>
                  <td>{nameOf(r.workflowId)}</td>
                  <td>{r.workflowVersion}</td>
                  <td><span class={`status status-${r.status}`}>{r.status}</span></td>
                  <td>{when(r.completedAt)}</td>
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

/** Steps by depth: a step's column is one more than the deepest step it depends on. */
function layers(def: Definition): string[][] {
  const depth = new Map<string, number>();
  const of = (key: string, seen = new Set<string>()): number => {
    const known = depth.get(key);
    if (known !== undefined) return known;
    if (seen.has(key)) return 0;
    seen.add(key);
    const d = Math.max(-1, ...(def.dependencies[key] ?? []).map((k) => of(k, seen))) + 1;
    depth.set(key, d);
    return d;
  };
  const cols: string[][] = [];
  for (const s of def.steps) (cols[of(s.key)] ??= []).push(s.key);
  return cols.filter(Boolean);
}

/** One workflow run: its steps as a graph by depth with each one's status, fan-out items under their step, a step's output or error, cancel. */
export function WorkflowRunPage({ api, id }: { api: Api; id: string }) {
  const [run, setRun] = useState<(WorkflowRun & { steps: StepRun[] }) | null>(null);
  const [def, setDef] = useState<Definition | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = async () => {
    try {
      const r = await api.get<WorkflowRun & { steps: StepRun[] }>(`/v1/workflow-executions/${encodeURIComponent(id)}`);
      setRun(r);
      setDef(await api.get<Definition>(`/v1/workflows/${encodeURIComponent(r.workflowId)}/versions/${r.workflowVersion}`));
    } catch (err) {
      setError(errorText(err));
    }
  };
  useEffect(() => {
    void load();
  }, [id]);

  const cancel = async () => {
    if (!confirm('Cancel this run? Its open steps are cancelled.')) return;
    try {
      await api.post(`/v1/workflow-executions/${encodeURIComponent(id)}/cancel`, {});
      await load();
    } catch (err) {
      setError(errorText(err));
    }
  };

  if (!run) return error ? <p role="alert" class="error">{error}</p> : <p aria-busy="true">Loading…</p>;
  const runsOf = (key: string) => run.steps.filter((s) => s.stepKey === key || s.stepKey.startsWith(`${key}.`));
  const stepStatus = (key: string) => run.steps.find((s) => s.stepKey === key)?.status ?? 'not reached';
  const shown = open ? run.steps.find((s) => s.id === open) : undefined;
  return (
    <section aria-labelledby="wf-title">
      <p><a href="/console/workflows" onClick={link('workflows')}>← Workflows</a></p>
      <h1 id="wf-title">Workflow run <code>{run.id}</code></h1>
      {error && <p role="alert" class="error">{error}</p>}
      <dl class="figures">
        <div><dt>Status</dt><dd><span class={`status status-${run.status}`} data-testid="wf-status">{run.status}</span></dd></div>
        <div><dt>Version</dt><dd>{run.workflowVersion}</dd></div>
        <div><dt>Started</dt><dd>{when(run.startedAt)}</dd></div>
        <div><dt>Finished</dt><dd>{when(run.completedAt)}</dd></div>
      </dl>
      {run.errorMessage && <p class="error">{run.errorMessage}</p>}
      {!FINAL.has(run.status) && <p><button type="button" class="danger" onClick={() => void cancel()}>Cancel run</button></p>}
      <h2>Steps</h2>
      {def && (
        <div class="dag" role="list" aria-label="Steps by depth, left to right">
          {layers(def).map((col, i) => (
            <div class="dag-col" key={i}>
              {col.map((key) => {
                const type = def.steps.find((s) => s.key === key)?.type ?? '';
                const deps = def.dependencies[key] ?? [];
                return (
                  <div role="listitem" class={`dag-node node-${stepStatus(key).replace(' ', '-')}`} key={key} data-step={key}>
                    <strong>{key}</strong> <small>{type}</small>
                    <div><span class={`status status-${stepStatus(key)}`}>{stepStatus(key)}</span></div>
                    {deps.length > 0 && <small class="hint">after {deps.join(', ')}</small>}
                    <ul>
                      {runsOf(key).map((s) => (
                        <li key={s.id}>
                          <button type="button" class="link" aria-expanded={open === s.id} onClick={() => setOpen(open === s.id ? null : s.id)}>
                            {s.stepKey}: {s.status}{s.attempts > 1 ? ` (${s.attempts} attempts)` : ''}
                          </button>
                        </li>
                      ))}
                    </ul>
                  </div>
                );
              })}
            </div>
          ))}
        </div>
      )}
      {shown && (
        <div class="card span-detail">
          <h3>{shown.stepKey}</h3>
          {shown.executionId && <p><a href={`/console/runs/${shown.executionId}`} onClick={link(`runs/${shown.executionId}`)}>its agent run's trace</a></p>}
          {shown.waitingFor && <><h4>Waiting for</h4><pre>{payload(shown.waitingFor)}</pre></>}
          {shown.errorMessage && <p class="error">{shown.errorMessage}</p>}
          <h4>Output</h4>
          <pre>{payload(shown.output)}</pre>
        </div>
      )}
      <h2>Input and output</h2>
      <pre>{payload(run.input)}</pre>
      <pre>{payload(run.output)}</pre>
    </section>
  );
}
