import { useEffect, useMemo, useState } from 'preact/hooks';
import { errorText, type Api } from '../api.js';
import { count, ms, usd } from '../format.js';
import { StackedBars, type StackedSeries } from '../plot.js';

interface ActivityRow {
  day: string;
  key: string | null;
  label: string | null;
  executions: number;
  failed: number;
  totalTokens: number;
  costUsd: number;
}
interface LatencyRow {
  day: string;
  executions: number;
  p50LatencyMs: number | null;
  p95LatencyMs: number | null;
}
interface Daily {
  from: string;
  to: string;
  data: ActivityRow[];
  latency: LatencyRow[];
}
interface Usage {
  runs: { used: number; limit: number | null };
  ingestedSpans: { used: number; limit: number | null };
  cost: { spentUsd: number; budgetUsd: number | null };
}

type Measure = 'executions' | 'failed' | 'costUsd' | 'totalTokens';

/** Every day of the range, so a day without runs is a gap, not a missing bar. */
function daysOf(from: string, to: string): string[] {
  const out: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86_400_000) out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

function seriesOf(d: Daily, days: string[], m: Measure): StackedSeries[] {
  const keys = [...new Set(d.data.map((r) => r.key))];
  const at = new Map(days.map((day, i) => [day, i]));
  return keys.map((k) => {
    const values = days.map(() => 0);
    let label = '';
    for (const r of d.data) {
      if (r.key !== k) continue;
      const i = at.get(r.day);
      if (i !== undefined) values[i] = (values[i] ?? 0) + r[m];
      label = r.label ?? (r.key === null ? '(none)' : r.key.slice(0, 8));
    }
    return { label, values };
  });
}

function Quota({ label, used, limit, format }: { label: string; used: number; limit: number | null; format: (n: number) => string }) {
  return (
    <div class="quota">
      <span>{label}</span>
      {limit === null ? <span>{format(used)} (no limit)</span> : (
        <>
          <meter min={0} max={limit} value={used} high={limit * 0.8} aria-label={`${label}: ${format(used)} of ${format(limit)}`} />
          <span>{format(used)} of {format(limit)}</span>
        </>
      )}
    </div>
  );
}

/** The last 30 days: runs, errors, cost and tokens per day stacked by agent or model, latency, and this month's use of the limits. */
export function OverviewPage({ api }: { api: Api }) {
  const [by, setBy] = useState<'agent' | 'model'>('agent');
  const [daily, setDaily] = useState<Daily | null>(null);
  const [usage, setUsage] = useState<Usage | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    setDaily(null);
    api.get<Daily>(`/v1/performance/daily?by=${by}`).then(setDaily, (err: unknown) => setError(errorText(err)));
  }, [by]);
  useEffect(() => {
    api.get<Usage>('/v1/usage').then(setUsage, () => setUsage(null));
  }, []);

  const days = useMemo(() => (daily ? daysOf(daily.from, daily.to) : []), [daily]);
  const plots = useMemo(() => daily && {
    executions: seriesOf(daily, days, 'executions'),
    failed: seriesOf(daily, days, 'failed'),
    costUsd: seriesOf(daily, days, 'costUsd'),
    totalTokens: seriesOf(daily, days, 'totalTokens'),
  }, [daily, days]);
  const total = (m: Measure) => daily?.data.reduce((s, r) => s + r[m], 0) ?? 0;
  const worstP95 = daily?.latency.reduce<number | null>((w, l) => (l.p95LatencyMs !== null && (w === null || l.p95LatencyMs > w) ? l.p95LatencyMs : w), null) ?? null;
  const lastLatency = daily?.latency.at(-1);

  return (
    <section aria-labelledby="overview-title">
      <h1 id="overview-title">Overview</h1>
      {error && <p role="alert" class="error">{error}</p>}
      {daily && (
        <>
          <p class="hint">{daily.from} to {daily.to} (UTC days)</p>
          <dl class="figures">
            <div><dt>Runs</dt><dd data-testid="total-runs">{count(total('executions'))}</dd></div>
            <div><dt>Errors</dt><dd data-testid="total-errors">{count(total('failed'))}</dd></div>
            <div><dt>Cost</dt><dd data-testid="total-cost">{usd(total('costUsd'))}</dd></div>
            <div><dt>Tokens</dt><dd data-testid="total-tokens">{count(total('totalTokens'))}</dd></div>
            <div><dt>Latency p50 / p95 (last day)</dt><dd>{ms(lastLatency?.p50LatencyMs)} / {ms(lastLatency?.p95LatencyMs)}</dd></div>
            <div><dt>Worst daily p95</dt><dd>{ms(worstP95)}</dd></div>
          </dl>
        </>
      )}
      {usage && (
        <div class="card" aria-label="This month against the limits">
          <h2>This month against the limits</h2>
          <Quota label="Runs" used={usage.runs.used} limit={usage.runs.limit} format={count} />
          <Quota label="Ingested spans" used={usage.ingestedSpans.used} limit={usage.ingestedSpans.limit} format={count} />
          <Quota label="Cost" used={usage.cost.spentUsd} limit={usage.cost.budgetUsd} format={usd} />
        </div>
      )}
      <fieldset class="by">
        <legend>Stack by</legend>
        <label class="check"><input type="radio" name="by" checked={by === 'agent'} onChange={() => setBy('agent')} />agent</label>
        <label class="check"><input type="radio" name="by" checked={by === 'model'} onChange={() => setBy('model')} />model</label>
      </fieldset>
      {daily && daily.data.length === 0 && (
        <p class="empty">No runs in the last 30 days. Send a first trace (the Runs page shows how), or start a run with <code>POST /v1/agents/{'{id}'}/runs</code>.</p>
      )}
      {plots && daily && daily.data.length > 0 && (
        <div class="plots">
          <StackedBars title="Runs per day" days={days} series={plots.executions} format={count} whole />
          <StackedBars title="Errors per day" days={days} series={plots.failed} format={count} whole />
          <StackedBars title="Cost per day (USD)" days={days} series={plots.costUsd} format={usd} />
          <StackedBars title="Tokens per day" days={days} series={plots.totalTokens} format={count} whole />
        </div>
      )}
    </section>
  );
}
