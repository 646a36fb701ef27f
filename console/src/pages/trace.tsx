import { useEffect, useState } from 'preact/hooks';
import { errorText, type Api, type Page } from '../api.js';
import { count, ms, payload, usd, when } from '../format.js';
import { navigate } from '../router.js';
import type { Execution } from './runs.js';

interface Span {
  id: string;
  kind: string;
  name: string;
  model: string | null;
  provider: string | null;
  totalTokens: number | null;
  promptTokens: number | null;
  completionTokens: number | null;
  costUsd: number | null;
  toolName: string | null;
  reasoning: string | null;
  confidence: number | null;
  input: unknown;
  output: unknown;
  status: string;
  errorMessage: string | null;
  startedAt: string;
  endedAt: string | null;
  durationMs: number | null;
  children: Span[];
}

interface ExecutionDetail extends Execution {
  input: unknown;
  output: unknown;
  spans: Span[];
  children: { id: string; status: string; costUsd: number }[];
}

interface Decision {
  id: string;
  decisionType: string;
  reasoningChain: unknown;
  confidenceScore: number;
  modelUsed: string | null;
  decidedAt: string;
}

interface Message {
  id: string;
  fromAgent: string | null;
  toAgent: string | null;
  fromAgentId: string | null;
  toAgentId: string | null;
  messageType: string;
  messageData: unknown;
  responseData: unknown;
  status: string;
  responseTimeMs: number | null;
  sentAt: string;
}

interface Row {
  span: Span;
  depth: number;
}

/** The span forest depth first, as the waterfall lists it. */
function flatten(spans: Span[], depth = 0, out: Row[] = []): Row[] {
  for (const s of [...spans].sort((a, b) => a.startedAt.localeCompare(b.startedAt))) {
    out.push({ span: s, depth });
    flatten(s.children, depth + 1, out);
  }
  return out;
}

const failed = (s: { status: string }) => s.status === 'failed' || s.status === 'error' || s.status === 'timeout';

/** What one span says, by kind: prompt and response of a model call, input and output of a tool, a step's reasoning. */
function SpanDetail({ s }: { s: Span }) {
  const [inLabel, outLabel] = s.kind === 'llm_call' ? ['Prompt', 'Response'] : ['Input', 'Output'];
  return (
    <div class="span-detail">
      <dl>
        <dt>Kind</dt><dd>{s.kind}</dd>
        {s.model && <><dt>Model</dt><dd>{s.provider ? `${s.provider} / ` : ''}{s.model}</dd></>}
        {s.toolName && <><dt>Tool</dt><dd>{s.toolName}</dd></>}
        <dt>Tokens</dt><dd>{count(s.promptTokens)} in · {count(s.completionTokens)} out</dd>
        <dt>Cost</dt><dd>{usd(s.costUsd)}</dd>
        {s.confidence !== null && <><dt>Confidence</dt><dd>{s.confidence}</dd></>}
        {s.errorMessage && <><dt>Error</dt><dd class="error">{s.errorMessage}</dd></>}
      </dl>
      {s.reasoning && <><h4>Reasoning</h4><pre>{payload(s.reasoning)}</pre></>}
      <h4>{inLabel}</h4>
      <pre>{payload(s.input)}</pre>
      <h4>{outLabel}</h4>
      <pre>{payload(s.output)}</pre>
    </div>
  );
}

/** One execution: its figures and its spans as a waterfall (bars placed on the run's time line), a span opens its detail. */
export function TracePage({ api, id }: { api: Api; id: string }) {
  const [run, setRun] = useState<ExecutionDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [decisions, setDecisions] = useState<Decision[]>([]);
  const [messages, setMessages] = useState<Message[]>([]);

  useEffect(() => {
    setRun(null);
    const q = `executionId=${encodeURIComponent(id)}&limit=100`;
    api.get<ExecutionDetail>(`/v1/executions/${encodeURIComponent(id)}`).then(setRun, (err: unknown) =>
      setError(errorText(err)));
    api.get<Page<Decision>>(`/v1/decisions?${q}`).then((p) => setDecisions(p.data), () => setDecisions([]));
    api.get<Page<Message>>(`/v1/messages?${q}`).then((p) => setMessages([...p.data].sort((a, b) => a.sentAt.localeCompare(b.sentAt))), () => setMessages([]));
  }, [id]);

  if (error) return <p role="alert" class="error">{error}</p>;
  if (!run) return <p aria-busy="true">Loading…</p>;
  const rows = flatten(run.spans);
  const starts = rows.map((r) => Date.parse(r.span.startedAt));
  const ends = rows.map((r) => (r.span.endedAt ? Date.parse(r.span.endedAt) : Date.parse(r.span.startedAt) + (r.span.durationMs ?? 0)));
  const t0 = Math.min(...starts, run.startedAt ? Date.parse(run.startedAt) : Infinity);
  const t1 = Math.max(...ends, run.completedAt ? Date.parse(run.completedAt) : -Infinity, t0 + 1);
  const span = t1 - t0;

  return (
    <section aria-labelledby="trace-title">
      <p><a href="/console/runs" onClick={(e) => { e.preventDefault(); navigate('runs'); }}>← Runs</a></p>
      <h1 id="trace-title">Run <code>{run.id}</code></h1>
      <dl class="figures">
        <div><dt>Status</dt><dd><span class={`status status-${run.status}`}>{run.status}</span></dd></div>
        <div><dt>Started</dt><dd>{when(run.startedAt ?? run.createdAt)}</dd></div>
        <div><dt>Latency</dt><dd>{ms(run.latencyMs)}</dd></div>
        <div><dt>Tokens</dt><dd>{count(run.totalTokens)}</dd></div>
        <div><dt>Cost</dt><dd data-testid="run-cost">{usd(run.costUsd)}</dd></div>
        <div><dt>Model</dt><dd>{run.modelName ?? '—'}</dd></div>
        <div><dt>Session</dt><dd>{run.sessionId ?? '—'}</dd></div>
      </dl>
      {run.errorMessage && <p class="error">{run.errorMessage}</p>}
      <h2>Spans</h2>
      {rows.length === 0 ? <p class="empty">This run recorded no spans.</p> : (
        <ol class="waterfall" aria-label="Spans on the run's time line">
          {rows.map(({ span: s, depth }, i) => {
            const left = ((starts[i]! - t0) / span) * 100;
            const width = Math.max(0.5, ((ends[i]! - starts[i]!) / span) * 100);
            const isOpen = open === s.id;
            return (
              <li key={s.id} class={failed(s) ? 'failed' : undefined}>
                <button
                  type="button" class="span-row" aria-expanded={isOpen} onClick={() => setOpen(isOpen ? null : s.id)}
                  style={{ '--depth': depth } as Record<string, number>}
                >
                  <span class="span-name">{s.name}<small>{s.kind}</small></span>
                  <span class="span-bar" aria-hidden="true"><span class={`bar bar-${s.kind}`} style={{ left: `${left}%`, width: `${width}%` }} /></span>
                  <span class="span-figures">{ms(s.durationMs)} · {count(s.totalTokens)} tok · {usd(s.costUsd)}</span>
                </button>
                {isOpen && <SpanDetail s={s} />}
              </li>
            );
          })}
        </ol>
      )}
      {decisions.length > 0 && (
        <>
          <h2>Decisions</h2>
          <ol class="timeline" aria-label="Decisions">
            {decisions.map((d) => (
              <li key={d.id} class="entry entry-decision">
                <time dateTime={d.decidedAt}>{when(d.decidedAt)}</time>
                <div>
                  <p><strong>{d.decisionType}</strong> · confidence {d.confidenceScore}{d.modelUsed ? ` · ${d.modelUsed}` : ''}</p>
                  <pre>{payload(d.reasoningChain)}</pre>
                </div>
              </li>
            ))}
          </ol>
        </>
      )}
      {messages.length > 0 && (
        <>
          <h2>Messages between agents</h2>
          <ol class="timeline" aria-label="Messages, in the order sent">
            {messages.map((m) => (
              <li key={m.id} class="entry entry-message">
                <time dateTime={m.sentAt}>{when(m.sentAt)}</time>
                <div>
                  <p><strong>{m.fromAgent ?? m.fromAgentId ?? '?'} → {m.toAgent ?? m.toAgentId ?? '?'}</strong> · {m.messageType} · {m.status}{m.responseTimeMs !== null ? ` · answered in ${ms(m.responseTimeMs)}` : ''}</p>
                  <pre>{payload(m.messageData)}</pre>
                </div>
              </li>
            ))}
          </ol>
        </>
      )}
      <h2>Input and output</h2>
      <h4>Input</h4>
      <pre>{payload(run.input)}</pre>
      <h4>Output</h4>
      <pre>{payload(run.output)}</pre>
    </section>
  );
}
