import { useEffect, useState } from 'preact/hooks';
import { errorText, type Api, type Page } from '../api.js';
import { payload, when } from '../format.js';

interface Agent {
  id: string;
  name: string;
}

interface MemoryHit {
  id: string;
  memoryType: string;
  content: string;
  tags: string[];
  importance: number;
  createdAt: string;
  score: number;
  vectorRank?: number | null;
  textRank?: number | null;
  similarity?: number | null;
  textScore?: number | null;
  importanceFactor?: number;
  recencyFactor?: number;
}

interface KnowledgeHit {
  id: string;
  domain: string;
  content: Record<string, unknown>;
  confidence: number | null;
  tags: string[];
  score: number;
  textRank?: number | null;
  vectorRank?: number | null;
  vectorDistance?: number | null;
}

const MODES = ['hybrid', 'text', 'vector'] as const;
const num = (n: number | null | undefined, digits = 3) => (n === null || n === undefined ? '—' : n.toFixed(digits));
const rank = (n: number | null | undefined) => (n === null || n === undefined ? 'not in the list' : `#${n}`);

/**
 * An agent's memories searched the way its runs search them, with the explain
 * view: each hit's place in the full-text and vector lists, its similarity and
 * text score, and the importance and recency factors that weight the fused
 * score. And the organization's knowledge base, searched the same way.
 */
export function MemoryPage({ api }: { api: Api }) {
  const [agents, setAgents] = useState<Agent[]>([]);
  const [agentId, setAgentId] = useState('');
  const [query, setQuery] = useState('');
  const [mode, setMode] = useState<(typeof MODES)[number]>('hybrid');
  const [hits, setHits] = useState<MemoryHit[] | null>(null);
  const [ran, setRan] = useState<{ mode: string; embeddingModel: string | null } | null>(null);
  const [kQuery, setKQuery] = useState('');
  const [knowledge, setKnowledge] = useState<KnowledgeHit[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    api.get<Page<Agent>>('/v1/agents?limit=100').then((p) => {
      setAgents(p.data);
      if (p.data[0]) setAgentId(p.data[0].id);
    }, () => setAgents([]));
  }, []);

  const fail = (err: unknown) => setError(errorText(err));
  const search = async (e: Event) => {
    e.preventDefault();
    try {
      const r = await api.post<{ items: MemoryHit[]; mode: string; embeddingModel: string | null }>(
        `/v1/agents/${encodeURIComponent(agentId)}/memories/search`, { query, mode, limit: 20, explain: true });
      setHits(r.items);
      setRan({ mode: r.mode, embeddingModel: r.embeddingModel });
      setError(null);
    } catch (err) {
      fail(err);
    }
  };
  const searchKnowledge = async (e: Event) => {
    e.preventDefault();
    try {
      const r = await api.post<{ items: KnowledgeHit[] }>('/v1/knowledge/search', { query: kQuery, limit: 20, explain: true });
      setKnowledge(r.items);
      setError(null);
    } catch (err) {
      fail(err);
    }
  };

  return (
    <section aria-labelledby="memory-title">
      <h1 id="memory-title">Memory</h1>
      {error && <p role="alert" class="error">{error}</p>}
      {agents.length === 0 ? <p class="empty">No agents yet: memories belong to an agent (<code>POST /v1/agents/{'{id}'}/memories</code>).</p> : (
        <form class="card filters" onSubmit={search} aria-label="Search an agent's memories">
          <label>
            Agent
            <select name="agentId" value={agentId} onChange={(e) => setAgentId(e.currentTarget.value)}>
              {agents.map((a) => <option key={a.id} value={a.id}>{a.name}</option>)}
            </select>
          </label>
          <label>Search memories<input name="query" required value={query} onInput={(e) => setQuery(e.currentTarget.value)} /></label>
          <label>
            Mode
            <select name="mode" value={mode} onChange={(e) => setMode(e.currentTarget.value as (typeof MODES)[number])}>
              {MODES.map((m) => <option key={m} value={m}>{m}</option>)}
            </select>
          </label>
          <div class="actions"><button type="submit" disabled={!agentId}>Search</button></div>
        </form>
      )}
      {ran && <p class="hint" data-testid="memory-mode">Ran as {ran.mode}{ran.embeddingModel ? ` with ${ran.embeddingModel}` : ' (no embedder: full text only)'}.</p>}
      {hits && (hits.length === 0 ? <p class="empty">No memory matches.</p> : (
        <ol class="hits" aria-label="Memories, best first">
          {hits.map((h) => (
            <li key={h.id} class="card">
              <p class="hit-content">{h.content}</p>
              <p class="hint">{h.memoryType} · importance {num(h.importance, 2)} · {when(h.createdAt)}{h.tags.length ? ` · ${h.tags.join(', ')}` : ''}</p>
              <dl class="explain" aria-label="Why it ranks here">
                <div><dt>score</dt><dd>{num(h.score, 4)}</dd></div>
                <div><dt>full text</dt><dd>{rank(h.textRank)} ({num(h.textScore)})</dd></div>
                <div><dt>vector</dt><dd>{rank(h.vectorRank)} (similarity {num(h.similarity)})</dd></div>
                <div><dt>importance ×</dt><dd>{num(h.importanceFactor)}</dd></div>
                <div><dt>recency ×</dt><dd>{num(h.recencyFactor)}</dd></div>
              </dl>
            </li>
          ))}
        </ol>
      ))}
      <h2>Knowledge</h2>
      <form class="card filters" onSubmit={searchKnowledge} aria-label="Search the knowledge base">
        <label>Search knowledge<input name="knowledgeQuery" required value={kQuery} onInput={(e) => setKQuery(e.currentTarget.value)} /></label>
        <div class="actions"><button type="submit">Search knowledge</button></div>
      </form>
      {knowledge && (knowledge.length === 0 ? <p class="empty">No knowledge item matches.</p> : (
        <ol class="hits" aria-label="Knowledge items, best first">
          {knowledge.map((k) => (
            <li key={k.id} class="card">
              <p class="hit-content"><strong>{String(k.content.title ?? k.id)}</strong> <span class="hint">{k.domain}{k.confidence !== null ? ` · confidence ${k.confidence}` : ''}</span></p>
              <pre>{payload(k.content, 2000)}</pre>
              <p class="hint">score {num(k.score, 4)} · full text {rank(k.textRank)} · vector {rank(k.vectorRank)}{k.vectorDistance !== null && k.vectorDistance !== undefined ? ` (distance ${num(k.vectorDistance)})` : ''}</p>
            </li>
          ))}
        </ol>
      ))}
    </section>
  );
}
