/** Display helpers: every value becomes text (components render it as text, never as HTML). */

export const when = (iso: string | null | undefined): string => (iso ? new Date(iso).toLocaleString() : '—');

export const usd = (n: number | null | undefined): string =>
  n === null || n === undefined ? '—' : n === 0 ? '$0' : n < 0.01 ? `$${n.toPrecision(2)}` : `$${n.toFixed(2)}`;

export const ms = (n: number | null | undefined): string =>
  n === null || n === undefined ? '—' : n < 1000 ? `${Math.round(n)} ms` : `${(n / 1000).toFixed(n < 10_000 ? 2 : 1)} s`;

export const count = (n: number | null | undefined): string => (n === null || n === undefined ? '—' : n.toLocaleString());

/** A payload as indented JSON, cut to `max` characters (a span may carry megabytes). */
export function payload(v: unknown, max = 10_000): string {
  if (v === null || v === undefined) return '—';
  const text = typeof v === 'string' ? v : JSON.stringify(v, null, 2) ?? String(v);
  return text.length > max ? `${text.slice(0, max)}\n… (${(text.length - max).toLocaleString()} more characters)` : text;
}
