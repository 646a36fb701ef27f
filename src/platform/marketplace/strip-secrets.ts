/**
 * What a listing publishes of an agent version's configuration: everything
 * but secrets and credentials. A version's snapshot holds tool configs (http
 * headers, query parameters, MCP environments) and model settings that may
 * name the publisher's stored secrets ({"secret": "NAME"}), carry literal
 * keys, or point at the publisher's integrations. None of that may reach
 * another organization, so before a listing stores its config:
 *
 * - any key that reads like a credential (authorization, cookie, *token*,
 *   *secret*, *password*, *api-key*, *credential*, private key, session) is
 *   removed, in tool configs, model settings and metadata, at any depth;
 * - any value that references a stored secret ({"secret": …}) is removed;
 * - user:password in a URL is removed;
 * - an integration tool's integrationId (the publisher's integration) is
 *   replaced by "unconfigured" and the tool is marked inactive.
 *
 * Every removal is reported by path, and the install response repeats it, so
 * the installer knows which values to supply (as their own secrets).
 */

const CREDENTIAL_KEY = /(authori[sz]ation|cookie|token|secret|passw(or)?d|passphrase|api[-_]?key|apikey|credential|private[-_]?key|session)/i;

// Token counts are settings, not credentials (maxTokens, max_tokens).
const TOKEN_COUNT = /^(max|min|num)_?(output_?|completion_?|prompt_?)?tokens$/i;
const isCredentialKey = (k: string): boolean => CREDENTIAL_KEY.test(k) && !TOKEN_COUNT.test(k);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function stripUrlCredentials(v: string): string | undefined {
  if (!/^[a-z][a-z0-9+.-]*:\/\/[^/]*@/i.test(v) || !URL.canParse(v)) return undefined;
  const u = new URL(v);
  if (!u.username && !u.password) return undefined;
  u.username = '';
  u.password = '';
  return u.toString();
}

function clean(v: unknown, path: string, out: string[]): unknown {
  if (typeof v === 'string') {
    const s = stripUrlCredentials(v);
    if (s === undefined) return v;
    out.push(path);
    return s;
  }
  if (Array.isArray(v)) return v.map((x, i) => clean(x, `${path}[${i}]`, out));
  if (!isObject(v)) return v;
  const res: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    const p = `${path}.${k}`;
    if (isCredentialKey(k) || (isObject(x) && 'secret' in x)) {
      out.push(p);
      continue;
    }
    res[k] = clean(x, p, out);
  }
  return res;
}

export interface Stripped {
  config: Record<string, unknown>;
  /** where something was removed or replaced, e.g. tools[0].config.headers.Authorization */
  stripped: string[];
}

/** A copy of a version's configuration snapshot fit to publish (see above). */
export function stripSecrets(snapshot: Record<string, unknown>): Stripped {
  const out: string[] = [];
  const config: Record<string, unknown> = { ...snapshot };
  for (const key of ['modelSettings', 'metadata'] as const) {
    if (isObject(snapshot[key])) config[key] = clean(snapshot[key], key, out);
  }
  if (Array.isArray(snapshot.tools)) {
    config.tools = snapshot.tools.map((t, i) => {
      if (!isObject(t)) return t;
      const tool: Record<string, unknown> = { ...t };
      delete tool.id; // the publisher's tool id means nothing elsewhere
      if (isObject(t.config)) {
        const c = clean(t.config, `tools[${i}].config`, out) as Record<string, unknown>;
        if (t.toolType === 'integration' && c.integrationId !== undefined) {
          c.integrationId = 'unconfigured';
          tool.isActive = false;
          out.push(`tools[${i}].config.integrationId`);
        }
        tool.config = c;
      }
      return tool;
    });
  }
  return { config, stripped: out };
}

/** What browsing shows of the tools: names, descriptions and kinds, never their configs. */
export function toolSummary(config: Record<string, unknown>): Array<{ name: string; description: string | null; toolType: string }> {
  const tools = Array.isArray(config.tools) ? config.tools : [];
  return tools.filter(isObject).map((t) => ({
    name: String(t.name ?? ''),
    description: typeof t.description === 'string' ? t.description : null,
    toolType: String(t.toolType ?? ''),
  }));
}
