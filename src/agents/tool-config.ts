import { z } from 'zod';
import { validationFailed } from '../errors.js';

export const TOOL_TYPES = ['function', 'api', 'integration', 'mcp'] as const;
export type ToolType = (typeof TOOL_TYPES)[number];

const HttpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(2000);

/**
 * The least each tool type needs to be callable; anything else in config is
 * the caller's and kept as sent. Function tools run in the caller's code, so
 * any object will do.
 */
const CONFIG: Record<ToolType, z.ZodType> = {
  function: z.looseObject({}),
  api: z.looseObject({
    url: HttpUrl,
    method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']),
  }),
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
