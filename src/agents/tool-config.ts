import { z } from 'zod';
import { validationFailed } from '../errors.js';

export const TOOL_TYPES = ['function', 'api', 'integration', 'mcp'] as const;
export type ToolType = (typeof TOOL_TYPES)[number];

const HttpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(2000);

// The http fields the runtime reads (src/runtime/tools/http-tool.ts); checked
// here so a config that cannot run is a 400 when it is saved, not at each call.
const TEMPLATE_HOST = /[{}]/;
const HTTP_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HEADER_VALUE = z.string().max(8192).refine((v) => !/[\r\n\0]/.test(v), 'must not contain CR, LF or NUL');
const RESERVED_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection']);
const ApiConfig = z
  .looseObject({
    url: HttpUrl.describe('a template: {arg} is replaced by the URL-encoded argument'),
    method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']),
    headers: z
      .record(
        z.string().regex(HTTP_TOKEN, 'must be an HTTP header name').refine((h) => !RESERVED_HEADERS.has(h.toLowerCase()), 'is set by the server'),
        z.union([
          HEADER_VALUE,
          z.strictObject({ secret: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,99}$/, 'must name a stored secret'), prefix: HEADER_VALUE.optional() }),
        ], { error: 'must be a string or {"secret": "NAME", "prefix"?: "Bearer "}' }),
      )
      .optional(),
    query: z.record(z.string().min(1).max(200), z.union([z.string().max(2000), z.number(), z.boolean()])).optional(),
    body: z.enum(['args', 'none']).optional(),
    timeoutMs: z.number().int().min(100).max(60_000).optional(),
    maxResponseBytes: z.number().int().min(1).max(5 * 1024 * 1024).optional(),
    allowedHosts: z
      .array(z.string().max(253).regex(/^(\*\.)?[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/, 'must be a host name, or *.domain for its subdomains'))
      .min(1)
      .max(50)
      .optional(),
    auth: z
      .strictObject({ integrationId: z.uuid('must be the id of an integration (GET /v1/integrations)') })
      .optional()
      .describe("send this integration's OAuth access token as the Authorization header, refreshed when near expiry"),
  })
  .superRefine((c, ctx) => {
    if (c.body === 'args' && (c.method === 'GET' || c.method === 'HEAD')) {
      ctx.addIssue({ code: 'custom', path: ['body'], message: `a ${c.method} request has no body; use query or the url template` });
    }
    const authHeader = Object.keys(c.headers ?? {}).find((h) => h.toLowerCase() === 'authorization');
    if (c.auth && authHeader) {
      ctx.addIssue({ code: 'custom', path: ['headers', authHeader], message: 'auth.integrationId sets the Authorization header; remove this one' });
    }
    if (!c.allowedHosts && URL.canParse(c.url) && TEMPLATE_HOST.test(new URL(c.url).hostname)) {
      ctx.addIssue({ code: 'custom', path: ['allowedHosts'], message: 'the url template puts an argument in the host; list the hosts it may reach' });
    }
  });

/** An api tool's config after validation (the fields the runtime reads; others are kept as sent). */
export type ApiToolConfig = z.infer<typeof ApiConfig>;

/**
 * The least each tool type needs to be callable; anything else in config is
 * the caller's and kept as sent. Function tools run in the caller's code, so
 * any object will do.
 */
const CONFIG: Record<ToolType, z.ZodType> = {
  function: z.looseObject({}),
  api: ApiConfig,
  mcp: z
    .looseObject({ serverUrl: HttpUrl.optional(), command: z.string().trim().min(1).max(1000).optional() })
    .refine((c) => c.serverUrl !== undefined || c.command !== undefined, {
      message: 'an mcp tool needs serverUrl (an http(s) URL) or command (to start the server over stdio)',
    }),
  integration: z.looseObject({ integrationId: z.string().trim().min(1).max(255) }),
};

export function assertToolConfig(toolType: ToolType, config: Record<string, unknown>): void {
  const r = CONFIG[toolType].safeParse(config);
  if (r.success) return;
  const issues = r.error.issues.map((i) => ({
    path: ['body', 'config', ...i.path.map(String)].join('.'),
    message: i.message,
  }));
  throw validationFailed(`config does not fit tool type ${toolType}: ${issues[0]!.path}: ${issues[0]!.message}`, issues);
}

/** The integration an api tool's config sends the token of (auth.integrationId), if any; the config is valid already. */
export function toolIntegrationId(toolType: ToolType, config: Record<string, unknown>): string | undefined {
  if (toolType !== 'api') return undefined;
  const auth = config.auth as { integrationId?: unknown } | undefined;
  return typeof auth?.integrationId === 'string' ? auth.integrationId : undefined;
}

/** The config of an api tool as the runtime reads it, or the first problem with it. */
export function parseApiToolConfig(config: unknown): { ok: true; config: ApiToolConfig } | { ok: false; problem: string } {
  const r = ApiConfig.safeParse(config);
  if (r.success) return { ok: true, config: r.data };
  const i = r.error.issues[0]!;
  return { ok: false, problem: `config.${i.path.map(String).join('.')}: ${i.message}` };
}
