import { useEffect, useState } from 'preact/hooks';
import { errorText, type Api, type Page } from '../api.js';
import { count, ms, payload, usd, when } from '../format.js';
import { linkTo } from '../router.js';
import { LoadMore, useCursorList } from '../use-cursor-list.js';

interface Session {
  id: string;
  sessionToken: string;
  externalUserId: string | null;
  agentId: string | null;
  executionCount: number;
  totalTokens: number;
  totalCostUsd: number;
  createdAt: string;
  lastActivity: string;
}

interface Entry {
  type: 'execution' | 'decision' | 'message';
  id: string;
  at: string;
  item: Record<string, unknown>;
}

const link = linkTo;

/** Sessions, newest first; one opens its timeline. */
export function SessionsPage({ api }: { api: Api }) {
  const list = useCursorList<Session>((after) => api.get<Page<Session>>(`/v1/sessions?limit=50${after ? `&cursor=${encodeURIComponent(after)}` : ''}`), []);
  return (
    <section aria-labelledby="sessions-title">
      <h1 id="sessions-title">Sessions</h1>
      {list.error && <p role="alert" class="error">{list.error}</p>}
      {list.loaded && list.rows.length === 0 ? (
        <p class="empty">No sessions yet. A run started with a <code>sessionToken</code> (your id of the conversation) opens one; runs sent with the same token continue it.</p>
      ) : (
        <div class="table-wrap">
          <table>
            <caption class="sr-only">Sessions, newest first</caption>
            <thead><tr><th scope="col">Session</th><th scope="col">User</th><th scope="col">Runs</th><th scope="col">Tokens</th><th scope="col">Cost</th><th scope="col">Last activity</th></tr></thead>
            <tbody>
              {list.rows.map((s) => (
                <tr key={s.id}>
                  <td><a href={`/console/sessions/${s.id}`} onClick={link(`sessions/${s.id}`)}>{s.sessionToken}</a></td>
                  <td>{s.externalUserId ?? '—'}</td>
                  <td>{count(s.executionCount)}</td>
                  <td>{count(s.totalTokens)}</td>
                  <td>{usd(s.totalCostUsd)}</td>
                  <td>{when(s.lastActivity)}</td>
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

function EntryView({ e }: { e: Entry }) {
  const i = e.item;
  if (e.type === 'execution') {
    return (
      <>
        <p>
          <strong>Run</strong> <span class={`status status-${String(i.status)}`}>{String(i.status)}</span>{' '}
          <a href={`/console/runs/${e.id}`} onClick={link(`runs/${e.id}`)}>trace</a> · {ms(i.latencyMs as number | null)} · {count(i.totalTokens as number)} tokens · {usd(i.costUsd as number)}
        </p>
        <details><summary>Input and output</summary><pre>{payload(i.input)}</pre><pre>{payload(i.output)}</pre></details>
      </>
    );
  }
  if (e.type === 'decision') {
    return (
      <>
        <p><strong>Decision</strong> {String(i.decisionType ?? '')}{i.confidenceScore !== null && i.confidenceScore !== undefined ? ` · confidence ${String(i.confidenceScore)}` : ''}</p>
        <details><summary>Reasoning</summary><pre>{payload(i.reasoningChain)}</pre></details>
      </>
    );
  }
  return (
    <>
      <p><strong>Message</strong> {String(i.fromAgent ?? i.fromAgentId ?? '?')} → {String(i.toAgent ?? i.toAgentId ?? '?')} · {String(i.messageType ?? '')} · {String(i.status ?? '')}</p>
      <details><summary>Content</summary><pre>{payload(i.messageData)}</pre>{i.responseData !== null && i.responseData !== undefined && <pre>{payload(i.responseData)}</pre>}</details>
    </>
  );
}

/** One conversation across runtime and ingested work: runs, decisions and messages in time order, 100 at a time. */
export function SessionPage({ api, id }: { api: Api; id: string }) {
  const [session, setSession] = useState<Session | null>(null);
  const [entries, setEntries] = useState<Entry[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = async (after: string | null) => {
    try {
      const p = await api.get<{ session: Session; data: Entry[]; nextCursor: string | null }>(
        `/v1/sessions/${encodeURIComponent(id)}/timeline?limit=100${after ? `&cursor=${encodeURIComponent(after)}` : ''}`);
      setSession(p.session);
      setEntries((x) => (after ? [...x, ...p.data] : p.data));
      setCursor(p.nextCursor);
    } catch (err) {
      setError(errorText(err));
    }
  };
  useEffect(() => {
    void load(null);
  }, [id]);
  return (
    <section aria-labelledby="session-title">
      <p><a href="/console/sessions" onClick={link('sessions')}>← Sessions</a></p>
      <h1 id="session-title">Session {session ? <code>{session.sessionToken}</code> : null}</h1>
      {error && <p role="alert" class="error">{error}</p>}
      {session && (
        <dl class="figures">
          <div><dt>Runs</dt><dd>{count(session.executionCount)}</dd></div>
          <div><dt>Tokens</dt><dd>{count(session.totalTokens)}</dd></div>
          <div><dt>Cost</dt><dd>{usd(session.totalCostUsd)}</dd></div>
          <div><dt>Started</dt><dd>{when(session.createdAt)}</dd></div>
        </dl>
      )}
      {session && entries.length === 0 && <p class="empty">Nothing recorded in this session yet.</p>}
      <ol class="timeline" aria-label="What happened, oldest first">
        {entries.map((e) => (
          <li key={`${e.type}:${e.id}`} class={`entry entry-${e.type}`}>
            <time dateTime={e.at}>{when(e.at)}</time>
            <div><EntryView e={e} /></div>
          </li>
        ))}
      </ol>
      {cursor && <button type="button" onClick={() => void load(cursor)}>Load more</button>}
    </section>
  );
}
