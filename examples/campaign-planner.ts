// examples/campaign-planner.ts — seed 001's NexusPlanner on agentbase: market signals are
// recorded, a campaign is made from a template, and a strategist agent proposes an idea and
// a channel mix for it, recording each choice as a decision with its reasoning chain and
// confidence (the record_decision built-in). The application writes the proposal into the
// campaign (each change a new version), and what was learned is kept as a learning.
// Run: npx tsx examples/campaign-planner.ts (the agent replays
// examples/scripts/campaign-strategist.json; AGENTBASE_EXAMPLE_LLM=service calls the server's model).
// Environment:
//   AGENTBASE_URL      the server (default http://127.0.0.1:4100)
//   AGENTBASE_API_KEY  a key with agents, executions, memory and plans write (examples/quickstart.sh prints one)
import { api, call, ensureAgent, type Json } from './lib/http.js';

const n = `${Date.now()}`.slice(-6);
await ensureAgent('campaign-strategist', 'campaign-strategist', {
  tools: ['record_decision'],
  systemPrompt: 'You plan B2B marketing campaigns. Record each choice with record_decision, then answer JSON.',
});

// The catalog entry the campaign promotes, and what the market said this week.
const service: Json = await api('POST', '/v1/services', {
  name: `Zero-trust VPN ${n}`, category: 'security', description: 'Zero-trust network access for hybrid teams',
  targetAudience: ['IT Directors', 'Security Teams'], keyBenefits: ['no hardware', 'live in a day'], competitors: ['LegacyVPN'],
});
const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000).toISOString();
const recorded: Json = await api('POST', '/v1/market-signals', {
  signals: [
    { source: 'News', content: 'Breach at a logistics firm traced to an employee home router', observedAt: hoursAgo(30), relevanceScore: 0.92, category: 'security', impact: 'high', serviceId: service.id },
    { source: 'Industry Report', content: 'Hybrid work rises to 60 % of office jobs', observedAt: hoursAgo(20), relevanceScore: 0.81, category: 'remote work', impact: 'high' },
    { source: 'Twitter', content: 'Complaints about slow legacy VPN clients', observedAt: hoursAgo(5), relevanceScore: 0.55, category: 'sentiment', impact: 'medium' },
  ],
});
console.log(`signals recorded: ${recorded.data.length}`);

// A campaign from a template: its ideas and channel mix to start from.
const template: Json = await api('POST', '/v1/campaign-templates', {
  name: `Security launch ${n}`, theme: 'Security product launch', tags: ['b2b', 'security'],
  ideas: [{ theme: 'Breach stories', coreMessage: 'It could be you next', targetSegments: ['CISOs'], competitiveAngle: 'Fear of loss' }],
  channelMix: [{ channel: 'email', budgetAllocation: 60, strategy: 'Announce to the customer list' }],
});
let campaign: Json = await api('POST', `/v1/campaign-templates/${template.id}/instantiate`, {
  name: `Q3 zero-trust push ${n}`, startDate: '2027-07-01', endDate: '2027-09-30', totalBudget: 50000, expectedRoi: 180, serviceId: service.id,
});
console.log(`campaign ${campaign.id}: version ${campaign.version}, ${campaign.campaign.ideas.length} idea and ${campaign.campaign.channelPlans.length} channel plan from the template`);

// The strategist reads the high-impact signals and proposes; each choice is a decision.
const signals: Json[] = (await api('GET', '/v1/market-signals?impact=high&limit=10')).data;
const run: Json = await api('POST', '/v1/agents/campaign-strategist/runs', {
  input: `Campaign "${campaign.title}" for ${service.name}. High-impact signals: ${signals.map((s) => s.content).join('; ')}. Propose one idea and a channel mix (remote work is the theme).`,
  planId: campaign.id,
});
const proposal = JSON.parse(run.output.content);

// The application writes the proposal: a new idea, then the channel mix (each change a version).
campaign = await api('POST', `/v1/campaigns/${campaign.id}/ideas`, { version: campaign.version, ...proposal.idea });
campaign = await api('PUT', `/v1/campaigns/${campaign.id}/channel-plans`, { version: campaign.version, channelPlans: proposal.channelPlans });
const over = await call('PUT', `/v1/campaigns/${campaign.id}/channel-plans`, {
  version: campaign.version, channelPlans: [...proposal.channelPlans, { channel: 'billboards', budgetAllocation: 10, strategy: 'Airports' }],
});
console.log(`campaign version ${campaign.version}: ${campaign.campaign.channelPlans.map((c: Json) => `${c.channel} ${c.budgetAllocation} %`).join(', ')}; a mix over 100 %: ${over.status} ${over.body.error.code}`);

// The decisions, found by the campaign, and the reasoning steps in the run's trace.
const decisions: Json[] = (await api('GET', `/v1/decisions?planId=${campaign.id}`)).data;
for (const d of [...decisions].reverse()) {
  console.log(`decision ${d.decisionType}: confidence ${d.confidenceScore}, ${d.reasoningChain.length} steps: ${d.reasoningChain.map((s: Json) => s.action).join(' -> ')}`);
}
const trace: Json = await api('GET', `/v1/executions/${run.id}`);
console.log(`trace: ${trace.spans.map((s: Json) => s.kind).join(', ')}`);

// What the strategist learned, kept with its evidence for the next campaign.
const learning: Json = await api('POST', '/v1/agents/campaign-strategist/learnings', {
  sourceType: 'execution', sourceId: run.id, learningCategory: 'channel_mix', confidence: 0.7,
  finding: 'For security buyers, LinkedIn plus a live webinar outweighs email-first launches',
  evidence: { campaignId: campaign.id, decisions: decisions.map((d) => d.decisionId) },
});
const history: Json = await api('GET', `/v1/plans/${campaign.id}/versions`);
console.log(`learning ${learning.learningCategory} recorded; versions: ${history.data.map((v: Json) => `${v.version} ${v.summary.split(';')[0]}`).join(' | ')}`);
