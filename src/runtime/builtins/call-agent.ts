/**
 * call_agent: the model asks another agent of the organization (by slug) and
 * gets its answer. The other agent runs as a child execution of this one, in
 * the same trace, sharing the run's deadline and budget; the call is an
 * inter-agent message (sent → processed/failed). Bounded: calls nest at most
 * AGENTBASE_RUN_MAX_DEPTH deep, an agent already on the call path cannot be
 * called again (no cycles), and an agent whose modelSettings.callableAgents
 * lists slugs may call only those.
 */
import { z } from 'zod';
import { findAgentRefs } from '../../agents/index.js';
import { isRunToolContext } from '../agent-loop.js';
import type { RuntimeDeps } from '../deps.js';
import { callAgent } from '../run-service.js';
import type { RunnableTool } from '../run-tools.js';
import type { ToolOutcome } from '../tools/types.js';

const Args = z.object({
  agent: z.string().min(1).max(100),
  input: z.string().min(1).max(100_000),
});

const refuse = (error: string): ToolOutcome => ({ isError: true, output: { error } });

export function callAgentTool(deps: RuntimeDeps): RunnableTool {
  return {
    spanKind: 'agent_call',
    spec: {
      name: 'call_agent',
      description: 'Ask another agent of this organization to do something and get its answer. Give the agent\'s slug and what to ask it.',
      parameters: {
        type: 'object',
        properties: {
          agent: { type: 'string', description: 'the slug of the agent to call' },
          input: { type: 'string', description: 'what to ask it, as a message' },
        },
        required: ['agent', 'input'],
        additionalProperties: false,
      },
    },
    async run(args, ctx) {
      if (!isRunToolContext(ctx)) return refuse('call_agent works only inside an agent run');
      const parsed = Args.safeParse(args);
      if (!parsed.success) {
        const i = parsed.error.issues[0]!;
        return refuse(`the arguments are not valid: ${i.path.join('.') || 'arguments'}: ${i.message}; send {"agent": "<slug>", "input": "<message>"}`);
      }
      const { agent: slug, input } = parsed.data;
      const frame = ctx.frame;
      const max = deps.config.maxDepth;
      if (ctx.depth + 1 > max) {
        return refuse(`agents may call each other at most ${max} deep on this service (AGENTBASE_RUN_MAX_DEPTH); answer without calling ${slug}`);
      }
      const callable = frame.modelSettings.callableAgents;
      if (Array.isArray(callable) && !callable.includes(slug)) {
        return refuse(`agent ${frame.agent.slug} may call only these agents: ${callable.join(', ') || 'none'}`);
      }
      const [target] = await ctx.tenant((sql) => findAgentRefs(sql, [], [slug]));
      if (!target) return refuse(`there is no agent with slug ${slug} in this organization`);
      if (ctx.callPath.includes(target.id)) {
        return refuse(`calling ${slug} would make a cycle: it is already on the call path of this run`);
      }
      return callAgent(deps, ctx, target, input);
    },
  };
}
