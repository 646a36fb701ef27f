import { useState } from 'preact/hooks';
import { errorText, type Api, type Me, type Page } from '../api.js';
import { LoadMore, useCursorList } from '../use-cursor-list.js';

interface ApiKey {
  id: string;
  name: string;
  keyPrefix: string;
  scopes: string[];
  rateLimit: number;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
  createdAt: string;
}

const when = (iso: string | null) => (iso ? new Date(iso).toLocaleString() : '—');

/**
 * API keys: a cursor-paginated list, create with scopes (from the caller's own
 * permissions: a key never holds more than its maker), the secret shown once,
 * revoke.
 */
export function ApiKeysPage({ api, me }: { api: Api; me: Me }) {
  const list = useCursorList<ApiKey>((after) => api.get<Page<ApiKey>>(`/v1/api-keys?limit=20${after ? `&cursor=${encodeURIComponent(after)}` : ''}`), []);
  const [error, setError] = useState<string | null>(null);
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<string[]>([]);
  const [created, setCreated] = useState<{ name: string; key: string } | null>(null);

  const create = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      const out = await api.post<ApiKey & { key: string }>('/v1/api-keys', { name, scopes });
      setCreated({ name: out.name, key: out.key });
      setName('');
      setScopes([]);
      await list.reload();
    } catch (err) {
      setError(errorText(err));
    }
  };

  const revoke = async (k: ApiKey) => {
    if (!confirm(`Revoke the key "${k.name}"? It stops working at once.`)) return;
    try {
      await api.del(`/v1/api-keys/${k.id}`);
      await list.reload();
    } catch (err) {
      setError(errorText(err));
    }
  };

  const toggle = (s: string, on: boolean) => setScopes((xs) => (on ? [...xs, s] : xs.filter((x) => x !== s)));
  const grantable = me.permissions.filter((p) => p !== 'api_keys:manage');

  return (
    <section aria-labelledby="keys-title">
      <h1 id="keys-title">API keys</h1>
      {(error ?? list.error) && <p role="alert" class="error">{error ?? list.error}</p>}
      {created && (
        <div class="secret" role="status">
          <p>
            The key <strong>{created.name}</strong> — copy it now, it is not shown again:
          </p>
          <code data-testid="new-key">{created.key}</code>
          <button type="button" onClick={() => setCreated(null)}>Done</button>
        </div>
      )}
      <form onSubmit={create} class="card" aria-label="Create an API key">
        <h2>Create a key</h2>
        <label>
          Name
          <input name="keyName" required maxLength={255} value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <fieldset>
          <legend>Scopes (what the key may do; at most what you may do)</legend>
          <div class="scopes">
            {grantable.map((s) => (
              <label key={s} class="check">
                <input type="checkbox" checked={scopes.includes(s)} onChange={(e) => toggle(s, e.currentTarget.checked)} />
                {s}
              </label>
            ))}
          </div>
        </fieldset>
        <button type="submit" disabled={!name.trim() || scopes.length === 0}>Create key</button>
      </form>
      {list.loaded && list.rows.length === 0 ? (
        <p class="empty">No API keys yet. Create one above, then send it as <code>Authorization: Bearer …</code> from your application.</p>
      ) : (
        <div class="table-wrap">
          <table>
            <caption class="sr-only">Your API keys</caption>
            <thead>
              <tr><th scope="col">Name</th><th scope="col">Prefix</th><th scope="col">Scopes</th><th scope="col">Last used</th><th scope="col">Created</th><th scope="col"><span class="sr-only">Actions</span></th></tr>
            </thead>
            <tbody>
              {list.rows.map((k) => (
                <tr key={k.id}>
                  <td>{k.name}</td>
                  <td><code>{k.keyPrefix}</code></td>
                  <td>{k.scopes.join(', ')}</td>
                  <td>{when(k.lastUsedAt)}</td>
                  <td>{when(k.createdAt)}</td>
                  <td><button type="button" class="danger" onClick={() => void revoke(k)} aria-label={`Revoke ${k.name}`}>Revoke</button></td>
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
