import { compileValidator, parseApiToolConfig, type ApiToolConfig, type SchemaValidator } from '../../agents/index.js';
import { AppError } from '../../errors.js';
import type { Keys } from '../../identity/index.js';
import { resolveSecrets } from '../../secrets/index.js';
import { egressRequest, EgressRequestError, type EgressPolicy, type EgressResponse } from '../../net/index.js';
import { scrubber, type Scrub } from './scrub.js';
import type { BuiltinTool, ToolContext, ToolOutcome } from './types.js';

/**
 * An organization's stored `api` tool run as an HTTP request. Its config
 * (validated when saved, see src/agents/tool-config.ts):
 *
 *   url             template; {arg} is replaced by the URL-encoded argument
 *   method          GET POST PUT PATCH DELETE HEAD OPTIONS
 *   headers         { Name: "literal" | { secret: "NAME", prefix?: "Bearer " } }
 *   query           { name: "literal" | "{arg}" | 42 }; a parameter that is only
 *                   "{arg}" is left out when the argument is absent
 *   body            "args" (the arguments as JSON; the default for POST, PUT,
 *                   PATCH) or "none"
 *   timeoutMs       default 10 s, at most 60 s
 *   maxResponseBytes default 256 KiB, at most 5 MiB
 *   allowedHosts    default: the url template's host; "*.example.com" allows
 *                   its subdomains. A substituted URL on any other host is refused.
 *   auth            { integrationId }: send the integration's OAuth access
 *                   token as Authorization: <type> <token>, refreshed first
 *                   when near expiry (HttpToolDeps.integrationToken)
 *
 * Everything the model can fix (bad arguments, a 4xx) and everything it
 * cannot but should hear about (a missing secret, a secret whose allowedHosts
 * does not list the URL's host, a refused host, a timeout)
 * is an isError outcome. Only the run's own abort is thrown (its reason).
 * Secret values are scrubbed from everything the outcome carries, even when
 * the API echoes them back.
 */

export const HTTP_TOOL_DEFAULTS = { timeoutMs: 10_000, maxResponseBytes: 256 * 1024 } as const;
/** how much of a failed response's body the model is shown */
const ERROR_EXCERPT_CHARS = 2000;
const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
const WHOLE_PLACEHOLDER = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/;
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/**
 * A usable access token of the organization's integration (refreshed when
 * near expiry), or null when the organization has no such integration. An
 * AppError says why there is none to use (disabled, not connected, the
 * refresh failed); its message is shown to the model, it carries no token.
 */
/** host: where the token will be sent (the tool's URL); the integration refuses hosts it does not list. */
export type IntegrationTokenFn = (orgId: string, integrationId: string, host: string) => Promise<{ accessToken: string; tokenType: string } | null>;

export interface HttpToolDeps {
  /** secretBox opens the stored secrets a tool sends */
  keys: Pick<Keys, 'secretBox'>;
  egress: EgressPolicy;
  /** for tools with auth.integrationId; absent, such tools fail with a message */
  integrationToken?: IntegrationTokenFn | undefined;
}

/** A stored tool's definition: an agent_tools row, or the copy frozen into a published agent version. */
export interface StoredToolDefinition {
  id?: string;
  name: string;
  description: string;
  toolType: string;
  config: Record<string, unknown>;
  inputSchema: Record<string, unknown>;
}

const failed = (error: string, extra: Record<string, unknown> = {}, details?: Record<string, unknown>): ToolOutcome => ({
  output: { error, ...extra },
  isError: true,
  ...(details ? { details } : {}),
});

class ToolProblem extends Error {}

function argText(args: Record<string, unknown>, name: string, where: string): string {
  const v = args[name];
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new ToolProblem(
    v === undefined || v === null
      ? `the ${where} needs the argument ${name}, which was not given`
      : `the argument ${name} goes into the ${where}, so it must be a string, number or boolean`,
  );
}

function fill(template: string, args: Record<string, unknown>, where: string, encode: boolean): string {
  return template.replace(PLACEHOLDER, (_m, name: string) => {
    const s = argText(args, name, where);
    return encode ? encodeURIComponent(s) : s;
  });
}

function hostAllowed(host: string, allowed: readonly string[]): boolean {
  const h = host.toLowerCase();
  return allowed.some((a) => {
    const x = a.toLowerCase();
    return x.startsWith('*.') ? h.endsWith(x.slice(1)) && h.length > x.length - 1 : h === x;
  });
}

/** The URL with arguments substituted and query added, refused when its host is not allowed. */
function buildUrl(c: ApiToolConfig, args: Record<string, unknown>): URL {
  const filled = fill(c.url, args, 'url', true);
  if (!URL.canParse(filled)) throw new ToolProblem(`the url is not valid once the arguments are substituted`);
  const url = new URL(filled);
  const allowed = c.allowedHosts ?? [new URL(c.url).hostname];
  if (!hostAllowed(url.hostname, allowed)) {
    throw new ToolProblem(`the url's host ${url.hostname} is not one this tool may call (${allowed.join(', ')})`);
  }
  for (const [name, value] of Object.entries(c.query ?? {})) {
    if (typeof value !== 'string') {
      url.searchParams.append(name, String(value));
      continue;
    }
    const whole = WHOLE_PLACEHOLDER.exec(value);
    if (whole && (args[whole[1]!] === undefined || args[whole[1]!] === null)) continue;
    url.searchParams.append(name, fill(value, args, `query parameter ${name}`, false));
  }
  return url;
}

const shown = (url: URL) => `${url.origin}${url.pathname}${url.search}`;

function decode(res: EgressResponse): string {
  const charset = /charset="?([^";]+)/i.exec(String(res.headers['content-type'] ?? ''))?.[1];
  try {
    return new TextDecoder(charset ?? 'utf-8').decode(res.body);
  } catch {
    return new TextDecoder('utf-8').decode(res.body);
  }
}

const isJsonType = (ct: string) => /^application\/([\w.-]+\+)?json\b/i.test(ct) || /\+json\b/i.test(ct);

function responseBody(res: EgressResponse, contentType: string, scrub: Scrub): unknown {
  const text = decode(res);
  if (isJsonType(contentType) && !res.truncated && text.trim() !== '') {
    try {
      return scrub(JSON.parse(text));
    } catch {
      // A server that says JSON and sends something else: the model sees the text.
    }
  }
  return scrub(text);
}

function excerpt(body: unknown): unknown {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  if (text.length <= ERROR_EXCERPT_CHARS) return body;
  return `${text.slice(0, ERROR_EXCERPT_CHARS)}…`;
}

export function httpTool(def: StoredToolDefinition, deps: HttpToolDeps): BuiltinTool {
  // Set up once per load. A definition that cannot run fails its calls, not the load:
  // one broken tool should not stop an agent that may never call it.
  const parsed = parseApiToolConfig(def.config);
  let validator: SchemaValidator | undefined;
  let setupProblem = parsed.ok ? undefined : `its config is invalid (${parsed.problem})`;
  try {
    validator = compileValidator(def.inputSchema);
  } catch (err) {
    setupProblem ??= `its input schema does not compile (${err instanceof Error ? err.message : String(err)})`;
  }

  return {
    spec: { name: def.name, description: def.description, parameters: def.inputSchema },
    async run(args, ctx) {
      if (!parsed.ok || !validator || setupProblem) {
        return failed(`the tool ${def.name} cannot run: ${setupProblem}; fix it with PATCH /v1/tools/${def.id ?? def.name}`);
      }
      const problems = validator(args);
      if (problems) {
        return failed(`the arguments do not match the input schema of ${def.name}: ${problems.join('; ')}`, { problems });
      }
      return call(def.name, parsed.config, args, ctx, deps);
    },
  };
}

async function call(name: string, c: ApiToolConfig, args: Record<string, unknown>, ctx: ToolContext, deps: HttpToolDeps): Promise<ToolOutcome> {
  let url: URL;
  try {
    url = buildUrl(c, args);
  } catch (err) {
    if (err instanceof ToolProblem) return failed(err.message);
    throw err;
  }

  const secretNames = Object.values(c.headers ?? {}).flatMap((v) => (typeof v === 'string' ? [] : [v.secret]));
  let secrets = new Map<string, string>();
  try {
    if (secretNames.length) secrets = await ctx.tenant((sql) => resolveSecrets(sql, deps.keys, ctx.orgId, secretNames, url.hostname));
  } catch (err) {
    // Names only: the service's messages for missing, unreadable or host-bound secrets carry no values.
    // A secret not bound to this host is refused before it is opened, so nothing is sent.
    if (err instanceof AppError) return failed(`the tool ${name} cannot run: ${err.message}`, {}, { secrets: secretNames });
    throw err;
  }
  let bearer: string | undefined;
  const tokens: string[] = [];
  if (c.auth) {
    const id = c.auth.integrationId;
    if (!deps.integrationToken) return failed(`the tool ${name} cannot run: this service has no integrations to take its token from`, {}, { integrationId: id });
    try {
      const t = await deps.integrationToken(ctx.orgId, id, url.hostname);
      if (!t) return failed(`the tool ${name} cannot run: integration ${id} does not exist; point the tool's config.auth.integrationId at one (GET /v1/integrations)`, {}, { integrationId: id });
      bearer = `${t.tokenType} ${t.accessToken}`;
      // Scrubbed like a secret: an API that echoes it back shows [redacted].
      tokens.push(t.accessToken);
    } catch (err) {
      // The integrations' messages name the integration and what to do, never a token.
      if (err instanceof AppError) return failed(`the tool ${name} cannot run: ${err.message}`, {}, { integrationId: id });
      throw err;
    }
  }
  const scrub = scrubber([...secrets.values(), ...tokens]);

  const headers: Record<string, string> = {
    'user-agent': 'agentbase-http-tool',
    accept: 'application/json, text/plain;q=0.9, */*;q=0.8',
    // We read the body as sent; a compressed one would need decoding and would dodge the size cap.
    'accept-encoding': 'identity',
  };
  for (const [header, v] of Object.entries(c.headers ?? {})) {
    const value = typeof v === 'string' ? v : `${v.prefix ?? ''}${secrets.get(v.secret)!}`;
    // Node's own rule for header values; checked here so the refusal names the header and never shows the value.
    if (/[^\t\x20-\x7e\x80-\xff]/.test(value)) {
      return failed(`the tool ${name} cannot run: the value of header ${header} has characters a header cannot carry (control characters or non-Latin-1 text)`);
    }
    headers[header.toLowerCase()] = value;
  }
  if (bearer !== undefined) {
    if (/[^\t\x20-\x7e\x80-\xff]/.test(bearer)) {
      return failed(`the tool ${name} cannot run: the access token of integration ${c.auth!.integrationId} has characters a header cannot carry`);
    }
    headers.authorization = bearer;
  }
  const method = c.method;
  let body: string | undefined;
  if ((c.body ?? (BODY_METHODS.has(method) ? 'args' : 'none')) === 'args') {
    body = JSON.stringify(args);
    headers['content-type'] ??= 'application/json';
  }

  const timeoutMs = c.timeoutMs ?? HTTP_TOOL_DEFAULTS.timeoutMs;
  const maxBytes = c.maxResponseBytes ?? HTTP_TOOL_DEFAULTS.maxResponseBytes;
  const target = `${method} ${shown(url)}`;
  let res: EgressResponse;
  try {
    res = await egressRequest({ url, method, headers, body, timeoutMs, maxBytes, policy: deps.egress, signal: ctx.signal });
  } catch (err) {
    if (!(err instanceof EgressRequestError)) throw err;
    if (err.kind === 'aborted') throw ctx.signal.reason ?? err;
    const details = { method, url: shown(url), failure: err.kind, ...(err.refusal?.category ? { refused: err.refusal.category } : {}) };
    const message = err.kind === 'timeout' ? `${target} timed out after ${timeoutMs} ms` : `${target} failed: ${err.message}`;
    return scrub(failed(message, {}, details));
  }

  const contentType = String(res.headers['content-type'] ?? '');
  const responseData = responseBody(res, contentType, scrub);
  const details = {
    method,
    url: shown(url),
    status: res.status,
    contentType: contentType || null,
    bytes: res.body.length,
    truncated: res.truncated,
    address: res.address ?? null,
  };
  if (res.status < 200 || res.status > 299) {
    const statusLine = `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
    return scrub(failed(`${target} answered ${statusLine}`, { status: res.status, body: excerpt(responseData) }, details));
  }
  const output: Record<string, unknown> = { status: res.status, contentType: contentType || null, body: responseData };
  if (res.truncated) {
    output.truncated = true;
    output.note = `the response was longer than ${maxBytes} bytes; only the first ${maxBytes} bytes are shown`;
  }
  return scrub({ output, isError: false, details });
}
