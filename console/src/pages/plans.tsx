import { useEffect, useState } from 'preact/hooks';
import { errorText, type Api, type Page } from '../api.js';
import { payload, when } from '../format.js';
import { linkTo } from '../router.js';
import { LoadMore, useCursorList } from '../use-cursor-list.js';

interface Plan {
  id: string;
  kind: string;
  title: string;
  status: string;
  version: number;
  updatedAt: string;
}

interface PlanVersion {
  version: number;
  summary: string;
  restoredFrom: number | null;
  createdAt: string;
}

interface Diff {
  from: number;
  to: number;
  patch: { op: string; path: string; value?: unknown }[];
  summary: string;
}

interface Share {
  id: string;
  tokenPrefix: string;
  shareType: string;
  permissions: string[];
  publicSlug: string | null;
  hasPassword: boolean;
  accessCount: number;
  maxAccessCount: number | null;
  createdAt: string;
  expiresAt: string | null;
  isActive: boolean;
  revokedAt: string | null;
}

const link = linkTo;

/** Plans (travel plans, campaigns, generic), most recently changed first; one opens its versions and share links. */
export function PlansPage({ api }: { api: Api }) {
  const list = useCursorList<Plan>((after) => api.get<Page<Plan>>(`/v1/plans?limit=50${after ? `&cursor=${encodeURIComponent(after)}` : ''}`), []);
  return (
    <section aria-labelledby="plans-title">
      <h1 id="plans-title">Plans</h1>
      {list.error && <p role="alert" class="error">{list.error}</p>}
      {list.loaded && list.rows.length === 0 ? <p class="empty">No plans yet. Create one with <code>POST /v1/plans</code> (a travel plan, a campaign or a generic plan).</p> : (
        <div class="table-wrap">
          <table>
            <caption class="sr-only">Plans</caption>
            <thead><tr><th scope="col">Title</th><th scope="col">Kind</th><th scope="col">Status</th><th scope="col">Version</th><th scope="col">Changed</th></tr></thead>
            <tbody>
              {list.rows.map((p) => (
                <tr key={p.id}>
                  <td><a href={`/console/plans/${p.id}`} onClick={link(`plans/${p.id}`)}>{p.title}</a></td>
                  <td>{p.kind}</td>
                  <td>{p.status}</td>
                  <td>{p.version}</td>
                  <td>{when(p.updatedAt)}</td>
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

/** One plan: its versions with what changed, the diff of any two, and its share links (create, with the token shown once; revoke). */
export function PlanPage({ api, id }: { api: Api; id: string }) {
  const [plan, setPlan] = useState<Plan | null>(null);
  const [versions, setVersions] = useState<PlanVersion[]>([]);
  const [from, setFrom] = useState(0);
  const [to, setTo] = useState(0);
  const [diff, setDiff] = useState<Diff | null>(null);
  const [shares, setShares] = useState<Share[]>([]);
  const [shareType, setShareType] = useState('link');
  const [canComment, setCanComment] = useState(false);
  const [created, setCreated] = useState<{ token: string; url: string | null } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const base = `/v1/plans/${encodeURIComponent(id)}`;
  const fail = (err: unknown) => setError(errorText(err));

  const loadShares = () => api.get<Page<Share>>(`${base}/shares?limit=100`).then((p) => setShares(p.data), fail);
  useEffect(() => {
    api.get<Plan>(base).then(setPlan, fail);
    api.get<Page<PlanVersion>>(`${base}/versions?limit=100`).then((p) => {
      setVersions(p.data);
      if (p.data.length >= 2) {
        setFrom(p.data[1]!.version);
        setTo(p.data[0]!.version);
      }
    }, fail);
    void loadShares();
  }, [id]);

  const compare = async (e: Event) => {
    e.preventDefault();
    try {
      setDiff(await api.get<Diff>(`${base}/diff?from=${from}&to=${to}`));
    } catch (err) {
      fail(err);
    }
  };
  const share = async (e: Event) => {
    e.preventDefault();
    try {
      const out = await api.post<{ token: string; url?: string | null }>(`${base}/shares`, { shareType, permissions: canComment ? ['read', 'comment'] : ['read'] });
      setCreated({ token: out.token, url: out.url ?? null });
      await loadShares();
    } catch (err) {
      fail(err);
    }
  };
  const revoke = async (s: Share) => {
    if (!confirm(`Revoke the share link ${s.tokenPrefix}…? It stops working at once.`)) return;
    try {
      await api.del(`${base}/shares/${s.id}`);
      await loadShares();
    } catch (err) {
      fail(err);
    }
  };

  if (!plan) return error ? <p role="alert" class="error">{error}</p> : <p aria-busy="true">Loading…</p>;
  return (
    <section aria-labelledby="plan-title">
      <p><a href="/console/plans" onClick={link('plans')}>← Plans</a></p>
      <h1 id="plan-title">{plan.title}</h1>
      {error && <p role="alert" class="error">{error}</p>}
      <dl class="figures">
        <div><dt>Kind</dt><dd>{plan.kind}</dd></div>
        <div><dt>Status</dt><dd>{plan.status}</dd></div>
        <div><dt>Version</dt><dd>{plan.version}</dd></div>
        <div><dt>Changed</dt><dd>{when(plan.updatedAt)}</dd></div>
      </dl>
      <h2>Versions</h2>
      <ol class="timeline" aria-label="Versions, newest first">
        {versions.map((v) => (
          <li key={v.version} class="entry">
            <time dateTime={v.createdAt}>{when(v.createdAt)}</time>
            <div><strong>v{v.version}</strong> {v.summary}{v.restoredFrom !== null ? ` (restored from v${v.restoredFrom})` : ''}</div>
          </li>
        ))}
      </ol>
      {versions.length >= 2 && (
        <form class="card diff-form" onSubmit={compare} aria-label="Compare two versions">
          <label>From<select name="from" value={String(from)} onChange={(e) => setFrom(Number(e.currentTarget.value))}>{versions.map((v) => <option key={v.version} value={String(v.version)}>v{v.version}</option>)}</select></label>
          <label>To<select name="to" value={String(to)} onChange={(e) => setTo(Number(e.currentTarget.value))}>{versions.map((v) => <option key={v.version} value={String(v.version)}>v{v.version}</option>)}</select></label>
          <button type="submit">Compare</button>
        </form>
      )}
      {diff && (
        <div class="card" data-testid="plan-diff">
          <p class="summary"><strong>v{diff.from} → v{diff.to}:</strong> {diff.summary}</p>
          {diff.patch.length === 0 ? <p class="empty">No change.</p> : (
            <table class="diff">
              <caption class="sr-only">The changes as a JSON Patch</caption>
              <thead><tr><th scope="col">Change</th><th scope="col">Path</th><th scope="col">Value</th></tr></thead>
              <tbody>
                {diff.patch.map((p, i) => (
                  <tr key={i}><td>{p.op}</td><td><code>{p.path}</code></td><td><pre class={p.op === 'remove' ? 'old' : 'new'}>{'value' in p ? payload(p.value, 2000) : '—'}</pre></td></tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      )}
      <h2>Share links</h2>
      {created && (
        <div class="secret" role="status">
          <p>The link's token — copy it now, it is not shown again:</p>
          <code data-testid="share-token">{created.token}</code>
          {created.url && <p>Visitors open <code>{created.url}</code></p>}
          <button type="button" onClick={() => setCreated(null)}>Done</button>
        </div>
      )}
      <form class="card diff-form" onSubmit={share} aria-label="Share this plan">
        <label>
          Type
          <select name="shareType" value={shareType} onChange={(e) => setShareType(e.currentTarget.value)}>
            <option value="link">link (anyone with the token)</option>
            <option value="public">public (anyone with the URL)</option>
          </select>
        </label>
        <label class="check"><input type="checkbox" checked={canComment} onChange={(e) => setCanComment(e.currentTarget.checked)} />visitors may comment</label>
        <button type="submit">Create link</button>
      </form>
      {shares.length === 0 ? <p class="empty">Not shared.</p> : (
        <div class="table-wrap">
          <table>
            <caption class="sr-only">Share links, newest first</caption>
            <thead><tr><th scope="col">Token</th><th scope="col">Type</th><th scope="col">Permissions</th><th scope="col">Views</th><th scope="col">State</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
            <tbody>
              {shares.map((s) => (
                <tr key={s.id}>
                  <td><code>{s.tokenPrefix}…</code></td>
                  <td>{s.shareType}{s.hasPassword ? ' (password)' : ''}</td>
                  <td>{s.permissions.join(', ')}</td>
                  <td>{s.accessCount}{s.maxAccessCount !== null ? ` of ${s.maxAccessCount}` : ''}</td>
                  <td>{s.revokedAt ? `revoked ${when(s.revokedAt)}` : s.isActive ? (s.expiresAt ? `until ${when(s.expiresAt)}` : 'active') : 'inactive'}</td>
                  <td>{!s.revokedAt && <button type="button" class="danger" aria-label={`Revoke ${s.tokenPrefix}`} onClick={() => void revoke(s)}>Revoke</button>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
