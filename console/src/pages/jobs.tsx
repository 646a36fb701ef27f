import { useEffect, useState } from 'preact/hooks';
import { errorText, type Api, type Page } from '../api.js';
import { when } from '../format.js';

interface Job {
  id: string;
  queue: string;
  task: string;
  status: string;
  attempts: number;
  maxAttempts: number;
  lastError: string | null;
  runAt: string;
  createdAt: string;
  finishedAt: string | null;
}

interface Depth {
  queue: string;
  task: string;
  ready: number;
  scheduled: number;
  running: number;
  oldestReadySeconds: number | null;
}

const STATUSES = ['queued', 'running', 'succeeded', 'failed', 'dead', 'cancelled'];

/** The queues' depth and age, then background jobs newest first by status and queue: cancel a queued job, queue a dead one again. */
export function JobsPage({ api }: { api: Api }) {
  const [status, setStatus] = useState('');
  const [queue, setQueue] = useState('');
  const [jobs, setJobs] = useState<Job[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [depth, setDepth] = useState<Depth[] | null>(null);

  const loadDepth = () => api.get<{ data: Depth[] }>('/v1/jobs/depth').then((d) => setDepth(d.data), () => setDepth(null));
  const load = async (after: string | null) => {
    if (!after) void loadDepth();
    const q = new URLSearchParams({ limit: '50' });
    if (status) q.set('status', status);
    if (queue.trim()) q.set('queue', queue.trim());
    if (after) q.set('cursor', after);
    try {
      const p = await api.get<Page<Job>>(`/v1/jobs?${q}`);
      setJobs((j) => (after ? [...j, ...p.data] : p.data));
      setCursor(p.nextCursor);
      setError(null);
      setLoaded(true);
    } catch (err) {
      setError(errorText(err));
    }
  };
  useEffect(() => {
    void load(null);
  }, [status]);

  const act = async (j: Job, what: 'cancel' | 'redrive') => {
    try {
      await api.post(`/v1/jobs/${j.id}/${what}`, {});
      await load(null);
    } catch (err) {
      setError(errorText(err));
    }
  };

  return (
    <section aria-labelledby="jobs-title">
      <h1 id="jobs-title">Jobs</h1>
      <form class="card filters" aria-label="Filter jobs" onSubmit={(e) => { e.preventDefault(); void load(null); }}>
        <label>
          Status
          <select name="status" value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
            <option value="">any</option>
            {STATUSES.map((s) => <option key={s} value={s}>{s}</option>)}
          </select>
        </label>
        <label>Queue<input name="queue" value={queue} onInput={(e) => setQueue(e.currentTarget.value)} /></label>
        <div class="actions"><button type="submit">Apply</button></div>
      </form>
      {depth && (depth.length === 0 ? <p class="hint" data-testid="queue-depth">Every queue is empty.</p> : (
        <div class="table-wrap">
          <table data-testid="queue-depth">
            <caption>Unfinished jobs by queue</caption>
            <thead><tr><th scope="col">Queue</th><th scope="col">Task</th><th scope="col">Ready</th><th scope="col">Scheduled</th><th scope="col">Running</th><th scope="col">Oldest ready has waited</th></tr></thead>
            <tbody>
              {depth.map((d) => (
                <tr key={`${d.queue}:${d.task}`}>
                  <td>{d.queue}</td><td><code>{d.task}</code></td><td>{d.ready}</td><td>{d.scheduled}</td><td>{d.running}</td>
                  <td>{d.oldestReadySeconds === null ? '—' : `${Math.round(d.oldestReadySeconds)} s`}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ))}
      {error && <p role="alert" class="error">{error}</p>}
      {loaded && jobs.length === 0 ? <p class="empty">No jobs{status ? ` with status ${status}` : ''}. Runs started with <code>mode: "async"</code>, workflow steps and schedules run as jobs.</p> : (
        <div class="table-wrap">
          <table>
            <caption class="sr-only">Jobs, newest first</caption>
            <thead><tr><th scope="col">Created</th><th scope="col">Queue</th><th scope="col">Task</th><th scope="col">Status</th><th scope="col">Attempts</th><th scope="col">Last error</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
            <tbody>
              {jobs.map((j) => (
                <tr key={j.id} class={j.status === 'dead' ? 'failed' : undefined}>
                  <td>{when(j.createdAt)}</td>
                  <td>{j.queue}</td>
                  <td><code>{j.task}</code></td>
                  <td><span class={`status status-${j.status}`}>{j.status}</span></td>
                  <td>{j.attempts} / {j.maxAttempts}</td>
                  <td>{j.lastError ?? '—'}</td>
                  <td>
                    {j.status === 'queued' && <button type="button" class="danger" aria-label={`Cancel job ${j.id}`} onClick={() => void act(j, 'cancel')}>Cancel</button>}
                    {j.status === 'dead' && <button type="button" aria-label={`Retry job ${j.id}`} onClick={() => void act(j, 'redrive')}>Retry</button>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {cursor && <button type="button" onClick={() => void load(cursor)}>Load more</button>}
    </section>
  );
}
