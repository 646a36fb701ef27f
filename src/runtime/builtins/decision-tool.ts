/**
 * record_decision: the model records a choice it made, with its reasoning
 * chain, the data it used and its confidence (seed 001 agent_decisions), as
 * a decision of this run's execution. It inherits the execution's session
 * and plan, so a campaign's decisions are found by the campaign, and the
 * call is a reasoning_step span, so the run's trace shows the reasoning where
 * it happened.
 */
import { z } from 'zod';
import { isRunToolContext } from '../agent-loop.js';
import type { RuntimeDeps } from '../deps.js';
import { ingest } from '../run-recorder.js';
import type { RunnableTool } from '../run-tools.js';
import type { ToolOutcome } from '../tools/types.js';

const refuse = (error: string): ToolOutcome => ({ isError: true, output: { error } });

const Step = z.object({
  step: z.number().int().min(1).max(1000).optional(),
  action: z.string().min(1).max(200).optional(),
  reasoning: z.string().min(1).max(10_000),
  confidence: z.number().min(0).max(1).optional(),
});
const Args = z.object({
  decisionType: z.string().min(1).max(100).regex(/^[^\u0000]+$/),
  choice: z.unknown().refine((v) => v !== undefined && v !== null, 'is required'),
  reasoningChain: z.array(Step).min(1).max(50),
  confidence: z.number().min(0).max(1),
  dataSources: z.array(z.string().min(1).max(500)).max(100).optional(),
});

export function recordDecisionTool(deps: RuntimeDeps): RunnableTool {
  return {
    spanKind: 'reasoning_step',
    spec: {
      name: 'record_decision',
      description: 'Record a decision you made: what you chose, the steps of reasoning that led there, the data you used and how confident you are (0..1).',
      parameters: {
        type: 'object',
        properties: {
          decisionType: { type: 'string', description: 'the kind of decision, such as idea_generation or channel_mix' },
          choice: { description: 'what you chose (any JSON)' },
          reasoningChain: {
            type: 'array',
            description: 'the steps of your reasoning, in order',
            items: {
              type: 'object',
              properties: { step: { type: 'integer' }, action: { type: 'string' }, reasoning: { type: 'string' }, confidence: { type: 'number' } },
              required: ['reasoning'],
            },
          },
          confidence: { type: 'number', description: 'how sure you are, 0..1' },
          dataSources: { type: 'array', items: { type: 'string' }, description: 'what you based it on' },
        },
        required: ['decisionType', 'choice', 'reasoningChain', 'confidence'],
        additionalProperties: false,
      },
    },
    async run(args, ctx) {
      if (!isRunToolContext(ctx)) return refuse('record_decision works only inside an agent run');
      const parsed = Args.safeParse(args);
      if (!parsed.success) {
        const i = parsed.error.issues[0]!;
        return refuse(`the arguments are not valid: ${i.path.join('.') || 'arguments'}: ${i.message}; send {"decisionType", "choice", "reasoningChain": [{"reasoning"}], "confidence"}`);
      }
      const d = parsed.data;
      const frame = ctx.frame;
      const decisionId = `${frame.clientId}/decision/${ctx.step}/${ctx.index}`;
      await ingest(deps, frame.actor, {
        decisions: [{
          clientId: decisionId,
          executionClientId: frame.clientId,
          decidedAt: (deps.now?.() ?? new Date()).toISOString(),
          decisionType: d.decisionType,
          reasoningChain: d.reasoningChain.map((s, i) => ({ ...s, step: s.step ?? i + 1 })),
          dataSources: d.dataSources ?? [],
          confidence: d.confidence,
          metadata: { choice: d.choice, spanId: ctx.spanId },
          modelUsed: frame.version.model,
        }],
      });
      return { isError: false, output: { recorded: true, decisionId } };
    },
  };
}
