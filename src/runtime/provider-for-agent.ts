/**
 * Which model endpoint an agent version runs on, from its frozen
 * modelSettings:
 *
 *   { provider: "openai-compatible", baseUrl, apiKeySecret?, timeoutMs? }
 *        an endpoint of the agent's own; apiKeySecret names a stored secret
 *        (POST /v1/secrets) sent as the bearer key, only if the secret's
 *        allowedHosts lists the base URL's host. The base URL is the
 *        tenant's to write, so it is held to the egress policy like an http
 *        tool (no private addresses unless AGENTBASE_EGRESS_ALLOW_PRIVATE),
 *        checked here and again by each request, which connects only to the
 *        addresses it checked (providers/egress-fetch.ts). A key in the URL
 *        (https://user:key@…) is refused: it would sit in the agent's
 *        settings in plain text, where apiKeySecret keeps it sealed.
 *   { provider: "scripted", script: "<name>" }
 *        replays <AGENTBASE_SCRIPTS_DIR>/<name>.json (offline demos and tests).
 *   anything else (no provider key)
 *        the service's endpoint, AGENTBASE_LLM_BASE_URL / AGENTBASE_LLM_API_KEY.
 *
 * Everything is resolved before a run is recorded, so a misconfigured agent
 * gets 422 not_configured and leaves nothing behind. A host name that could
 * not be resolved just now (the resolver timed out) is 503 unavailable
 * instead: nothing to fix, try again (a queued run's job retries).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { AppError } from '../errors.js';
import { resolveSecrets } from '../secrets/index.js';
import type { RuntimeDeps } from './deps.js';
import { egressFetch } from './providers/egress-fetch.js';
import { OpenAICompatibleProvider, ProviderError, ScriptedProvider, type ChatProvider, type Script } from './providers/index.js';
import { EgressRefusedError, resolveEgress, type EgressPolicy } from '../net/index.js';

export interface ResolvedProvider {
  provider: ChatProvider;
  /** recorded as the execution's model_provider */
  label: 'openai-compatible' | 'scripted';
  /** where the calls go (no credentials), for span attributes */
  endpoint: string;
}

const SCRIPT_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;
const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,99}$/;

const OpenAISettings = z.object({
  provider: z.literal('openai-compatible'),
  baseUrl: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL such as https://api.openai.com/v1' })
    .max(2000)
    .refine(withoutUserInfo, {
      error: 'must not hold a user name or password: store the key with POST /v1/secrets and name that secret in modelSettings.apiKeySecret',
    }),
  apiKeySecret: z.string().regex(SECRET_NAME, 'must be the name of a stored secret (letters, digits, _)').optional(),
  timeoutMs: z.number().int().min(1000).max(600_000).optional(),
});
function withoutUserInfo(url: string): boolean {
  const u = new URL(url);
  return u.username === '' && u.password === '';
}

const ScriptedSettings = z.object({
  provider: z.literal('scripted'),
  script: z.string().regex(SCRIPT_NAME, 'must be a script name: letters, digits, _ and -, without .json'),
});
const ProviderSettings = z.discriminatedUnion('provider', [OpenAISettings, ScriptedSettings], {
  error: 'modelSettings.provider must be "openai-compatible" or "scripted" (or absent for the service\'s default endpoint)',
});

export const notConfigured = (message: string, details?: unknown) => new AppError(422, 'not_configured', message, details);

const HOW_TO =
  'set AGENTBASE_LLM_BASE_URL (and AGENTBASE_LLM_API_KEY) on the service, or give the agent modelSettings ' +
  '{"provider": "openai-compatible", "baseUrl": "…", "apiKeySecret": "…"} or {"provider": "scripted", "script": "…"} and publish a version';

export async function providerForAgent(
  deps: RuntimeDeps,
  orgId: string,
  agentSlug: string,
  modelSettings: Record<string, unknown>,
  model: string,
): Promise<ResolvedProvider> {
  if (modelSettings.provider === undefined) {
    const llm = deps.config.llm;
    if (!llm) throw notConfigured(`agent ${agentSlug} has no model endpoint: ${HOW_TO}`);
    return {
      provider: new OpenAICompatibleProvider({ baseUrl: llm.baseUrl, apiKey: llm.apiKey, model }),
      label: 'openai-compatible',
      endpoint: withoutCredentials(llm.baseUrl),
    };
  }
  const parsed = ProviderSettings.safeParse(modelSettings);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    const path = ['modelSettings', ...i.path.map(String)].join('.');
    throw notConfigured(`agent ${agentSlug}: ${path}: ${i.message}`, { field: path });
  }
  const s = parsed.data;
  if (s.provider === 'scripted') return { provider: await loadScript(deps, s.script), label: 'scripted', endpoint: `script:${s.script}` };

  const egress = { allowPrivate: deps.config.egressAllowPrivate };
  await checkEgress(s.baseUrl, egress, agentSlug);
  let apiKey: string | undefined;
  if (s.apiKeySecret) {
    try {
      apiKey = (await resolveSecrets(deps.db, deps.keys, orgId, [s.apiKeySecret], new URL(s.baseUrl).hostname)).get(s.apiKeySecret);
    } catch (err) {
      // The secret's allowedHosts does not list the base URL's host: the key is not opened, nothing is sent.
      if (err instanceof AppError && err.code === 'forbidden') {
        throw notConfigured(`agent ${agentSlug}: modelSettings.apiKeySecret: ${err.message}`, { field: 'modelSettings.apiKeySecret', ...(err.details as object) });
      }
      if (err instanceof AppError && err.status === 404) {
        throw notConfigured(`agent ${agentSlug}: modelSettings.apiKeySecret names the secret ${s.apiKeySecret}, which is not stored; create it with POST /v1/secrets`, {
          field: 'modelSettings.apiKeySecret',
        });
      }
      throw err;
    }
  }
  return {
    provider: new OpenAICompatibleProvider({ baseUrl: s.baseUrl, apiKey, model, timeoutMs: s.timeoutMs, fetch: egressFetch(egress) }),
    label: 'openai-compatible',
    endpoint: withoutCredentials(s.baseUrl),
  };
}

/** The endpoint as spans record it: a URL's user:password part is a credential. */
function withoutCredentials(url: string): string {
  const u = new URL(url);
  u.username = '';
  u.password = '';
  return u.toString();
}

async function checkEgress(baseUrl: string, egress: EgressPolicy, agentSlug: string): Promise<void> {
  try {
    await resolveEgress(new URL(baseUrl), egress);
  } catch (err) {
    if (err instanceof EgressRefusedError) throw egressRefusal(err, agentSlug);
    throw err;
  }
}

/** A refused base URL is the agent's to fix (422); a lookup that failed for a passing reason is not (503, retry). */
export function egressRefusal(err: EgressRefusedError, agentSlug: string): AppError {
  if (err.transient) {
    return new AppError(
      503,
      'unavailable',
      `agent ${agentSlug}: the host of modelSettings.baseUrl could not be resolved just now (${err.code}); try again shortly`,
      { field: 'modelSettings.baseUrl', reason: err.reason, code: err.code },
      { 'retry-after': '5' },
    );
  }
  return notConfigured(`agent ${agentSlug}: modelSettings.baseUrl cannot be used: ${err.message}`, { field: 'modelSettings.baseUrl', reason: err.reason });
}

/** A fresh replay of the script for each run, so every run starts at its first turn. */
async function loadScript(deps: RuntimeDeps, name: string): Promise<ScriptedProvider> {
  const dir = deps.config.scriptsDir;
  if (!dir) throw notConfigured(`the agent runs the script ${name}, but the service has no scripts folder: set AGENTBASE_SCRIPTS_DIR`);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(join(dir, `${name}.json`), 'utf8'));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'there is no such file' : e instanceof SyntaxError ? `it is not JSON (${e.message})` : e.message;
    throw notConfigured(`cannot read the script ${name}.json in AGENTBASE_SCRIPTS_DIR: ${why}`, { script: name });
  }
  try {
    return new ScriptedProvider(json as Script, `script ${name}`);
  } catch (err) {
    if (err instanceof ProviderError) throw notConfigured(err.message, { script: name });
    throw err;
  }
}
