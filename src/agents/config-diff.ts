/**
 * Field-by-field difference of two version configurations. Plain objects are
 * walked so a change deep inside reads as one line ("modelSettings.topP",
 * "tools.search.inputSchema.properties.q.type"); arrays and scalars are
 * compared whole. The tools list is keyed by tool name first (names are unique
 * among an organization's live tools and cannot contain "."), so adding or
 * changing one tool does not show up as a change of the whole list.
 * A field present on only one side has null on the other.
 */

export interface FieldChange {
  field: string;
  from: unknown;
  to: unknown;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    isPlainObject(x) ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, x[k]])) : x,
  );
}

function walk(path: string, a: unknown, b: unknown, out: FieldChange[]): void {
  if (isPlainObject(a) && isPlainObject(b)) {
    for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      walk(path ? `${path}.${k}` : k, a[k], b[k], out);
    }
    return;
  }
  if (canonical(a ?? null) !== canonical(b ?? null)) out.push({ field: path, from: a ?? null, to: b ?? null });
}

function toolsByName(config: Record<string, unknown>): Record<string, unknown> {
  const tools = Array.isArray(config.tools) ? (config.tools as Array<{ name?: unknown }>) : [];
  return { ...config, tools: Object.fromEntries(tools.map((t) => [String(t.name), t])) };
}

export function diffConfig(from: Record<string, unknown>, to: Record<string, unknown>): FieldChange[] {
  const out: FieldChange[] = [];
  walk('', toolsByName(from), toolsByName(to), out);
  return out;
}
