import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/** Colours for stacked series, in order; the last key ("other") is grey. */
export const PALETTE = ['#2f5bd3', '#2d9d78', '#e67e22', '#9b59b6', '#c0392b', '#16a085', '#d4ac0d', '#34495e', '#e84393', '#7f8c8d', '#95a5a6'];

export interface StackedSeries {
  label: string;
  values: number[];
}

/**
 * Stacked daily bars drawn by uPlot (a small library made for time series; no
 * chart code of our own). uPlot does not stack: each series is drawn as the
 * running total of itself and the series before it, top of the stack first,
 * so each bar covers the part of the one above it that belongs below; the
 * legend and tooltip show each series' own value.
 */
export function StackedBars({ title, days, series, format, whole = false }: {
  title: string;
  days: string[];
  series: StackedSeries[];
  format: (n: number) => string;
  /** counts: no tick between whole numbers */
  whole?: boolean;
}) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const xs = days.map((d) => Date.parse(`${d}T00:00:00Z`) / 1000);
    const totals: number[][] = [];
    let running = days.map(() => 0);
    for (const s of series) {
      running = running.map((v, i) => v + (s.values[i] ?? 0));
      totals.push(running);
    }
    const order = series.map((_, i) => i).reverse();
    const bars = uPlot.paths.bars!({ size: [0.7, 40] });
    const width = () => Math.max(280, el.clientWidth);
    const plot = new uPlot(
      {
        width: width(),
        height: 220,
        title,
        // half a day of room at each end, so the first and last bars are whole
        scales: { x: { time: true, range: (_u, min, max) => [min - 43_200, max + 43_200] } },
        axes: [{}, { values: (_u, ticks) => ticks.map((v) => (whole && !Number.isInteger(v) ? '' : format(v))), size: 70 }],
        series: [
          { label: 'day', value: (_u, v) => (v === null ? '—' : new Date(v * 1000).toISOString().slice(0, 10)) },
          ...order.map((i) => ({
            label: series[i]!.label,
            fill: PALETTE[i % PALETTE.length],
            stroke: PALETTE[i % PALETTE.length],
            paths: bars,
            points: { show: false },
            // the legend shows the series' own value, not the running total it is drawn at
            value: (_u: uPlot, _v: number | null, _s: number, idx: number | null) => (idx === null ? '—' : format(series[i]!.values[idx] ?? 0)),
          })),
        ],
      },
      [xs, ...order.map((i) => totals[i]!)],
      el,
    );
    const onResize = () => plot.setSize({ width: width(), height: 220 });
    addEventListener('resize', onResize);
    return () => {
      removeEventListener('resize', onResize);
      plot.destroy();
    };
  }, [title, days, series]);
  return <div class="plot" ref={box} role="img" aria-label={`${title}, stacked by day`} />;
}
