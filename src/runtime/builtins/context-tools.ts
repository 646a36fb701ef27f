/**
 * context_get / context_set: read and write the conversation session's
 * context_data, so what one run of a session learns (the user's preferences,
 * a chosen destination) is there for the next. A run without a session gets
 * an error outcome saying how to start one.
 */
import { z } from 'zod';
import { readSessionContext, SESSION_CONTEXT_MAX_BYTES, writeSessionContext } from '../sessions-service.js';
import type { RunnableTool } from '../run-tools.js';
import type { ToolOutcome } from '../tools/types.js';

const refuse = (error: string): ToolOutcome => ({ isError: true, output: { error } });
const NO_SESSION = 'this run has no conversation session, so there is no context; the caller starts one with sessionToken or sessionId';
const Key = z.string().min(1).max(200).regex(/^[^\u0000]+$/, 'must not contain NUL characters');

export function contextGetTool(): RunnableTool {
  return {
    spec: {
      name: 'context_get',
      description: 'Read the conversation context kept across this session\'s runs: one key, or all of it when no key is given.',
      parameters: {
        type: 'object',
        properties: { key: { type: 'string', description: 'the key to read; omit to read the whole context' } },
        additionalProperties: false,
      },
    },
    async run(args, ctx) {
      if (!ctx.sessionId) return refuse(NO_SESSION);
      const parsed = z.object({ key: Key.optional() }).safeParse(args);
      if (!parsed.success) return refuse(`the arguments are not valid: ${parsed.error.issues[0]!.message}; send {"key": "<name>"} or {}`);
      const context = await ctx.tenant((sql) => readSessionContext(sql, ctx.orgId, ctx.sessionId!));
      if (!context) return refuse('the session of this run no longer exists');
      const { key } = parsed.data;
      if (key === undefined) return { isError: false, output: { context } };
      return { isError: false, output: { key, value: Object.hasOwn(context, key) ? context[key] : null, found: Object.hasOwn(context, key) } };
    },
  };
}

export function contextSetTool(): RunnableTool {
  return {
    spec: {
      name: 'context_set',
      description: 'Remember a value in the conversation context for later runs of this session (null removes the key).',
      parameters: {
        type: 'object',
        properties: {
          key: { type: 'string', description: 'the key to set' },
          value: { description: 'any JSON value; null removes the key' },
        },
        required: ['key', 'value'],
        additionalProperties: false,
      },
    },
    async run(args, ctx) {
      if (!ctx.sessionId) return refuse(NO_SESSION);
      const parsed = z.object({ key: Key, value: z.unknown() }).safeParse(args);
      if (!parsed.success || !('value' in args)) return refuse('the arguments are not valid: send {"key": "<name>", "value": <any JSON>}');
      const { key, value } = parsed.data;
      const ok = await ctx.tenant((sql) => writeSessionContext(sql, ctx.orgId, ctx.sessionId!, key, value));
      if (!ok) return refuse(`the context would be larger than ${SESSION_CONTEXT_MAX_BYTES} bytes (or the session no longer exists); remove keys first`);
      return { isError: false, output: { key, stored: value !== null, removed: value === null } };
    },
  };
}
