// examples/travel-planner.ts — seed 000's multi-agent travel planner on agentbase: a
// coordinator agent asks flight, hotel and activity agents (agent to agent) and the
// application writes their results into a travel plan, version by version. A second turn
// in the same conversation session builds on the first. Then the plan's cost is checked
// against its executions, the messages between the agents are read from the plan, a share
// link with a password and an access limit opens it, and another organization sees none of it.
// Run: npx tsx examples/travel-planner.ts (agents replay examples/scripts/travel-*.json;
// with AGENTBASE_EXAMPLE_LLM=service they call the server's model endpoint instead).
// Environment:
//   AGENTBASE_URL      the server (default http://127.0.0.1:4100)
//   AGENTBASE_API_KEY  a key with agents, executions and plans write (examples/quickstart.sh prints one)
import { api, call, ensureAgent, type Json } from './lib/http.js';

// The agents: three specialists, and a coordinator that may call only them.
for (const slug of ['travel-flights', 'travel-hotels', 'travel-activities']) await ensureAgent(slug, slug);
await ensureAgent('travel-coordinator', 'travel-coordinator', {
  tools: ['call_agent'],
  systemPrompt: 'Plan trips. Ask travel-flights, travel-hotels and travel-activities with call_agent, then answer JSON.',
});

// The plan, version 1: what the traveller asked for.
let plan: Json = await api('POST', '/v1/plans', {
  kind: 'travel',
  title: 'Lisbon in May',
  travel: {
    destinations: [{ name: 'Lisbon', country: 'PT' }],
    startDate: '2027-05-01', endDate: '2027-05-06', travelerCount: 2,
    budgetTotal: 3000, budgetCurrency: 'EUR', preferences: { pace: 'relaxed', interests: ['food', 'history'] },
  },
});
console.log(`plan ${plan.id}: version ${plan.version}, ${plan.travel.durationDays} days, status ${plan.status}`);

// Turn 1 of a conversation: the coordinator runs on the plan, in a session.
plan = await api('PATCH', `/v1/plans/${plan.id}`, { version: plan.version, status: 'agent_processing' });
const sessionToken = `lisbon-${Date.now()}`;
const first: Json = await api('POST', '/v1/agents/travel-coordinator/runs', {
  input: 'Plan 5 days in Lisbon from 1 May for 2 adults, flying from Berlin, budget 3000 EUR.',
  planId: plan.id, sessionToken,
});
const proposal = JSON.parse(first.output.content);
plan = await api('PATCH', `/v1/plans/${plan.id}`, {
  version: plan.version, status: 'completed', completionPercentage: 100,
  travel: {
    agentResults: { flights: proposal.flights, hotel: proposal.hotel },
    itinerary: Object.fromEntries(proposal.days.map((d: string, i: number) => [`day${i + 1}`, d])),
  },
});
console.log(`turn 1: ${proposal.hotel}; plan version ${plan.version}, status ${plan.status}`);

// Turn 2, same session: the coordinator sees turn 1 (its script expects the hotel in the history).
const second: Json = await api('POST', '/v1/agents/travel-coordinator/runs', {
  input: 'Make day 3 a day trip to Sintra.', planId: plan.id, sessionToken,
});
const day3 = JSON.parse(second.output.content);
plan = await api('PATCH', `/v1/plans/${plan.id}`, {
  version: plan.version, travel: { itinerary: { ...plan.travel.itinerary, day3: day3.plan } },
});
console.log(`turn 2: ${day3.plan}; plan version ${plan.version}`);

// What changed between the first and the last version, in words.
const diff: Json = await api('GET', `/v1/plans/${plan.id}/diff?from=1&to=${plan.version}`);
console.log(`diff 1..${plan.version}: ${diff.patch.length} patch operations; ${diff.summary.join('; ')}`);

// The plan's cost is the sum of its executions' costs (every agent the coordinator called counts).
plan = await api('GET', `/v1/plans/${plan.id}`);
const executions: Json[] = (await api('GET', `/v1/executions?planId=${plan.id}&limit=100`)).data;
const sum = executions.reduce((s, e) => s + Number(e.costUsd), 0);
console.log(`cost: plan $${plan.costs.costUsd.toFixed(6)} = ${executions.length} executions $${sum.toFixed(6)}; ${plan.costs.totalTokens} tokens; sessions ${plan.activity.sessions.length}`);
if (Math.abs(sum - plan.costs.costUsd) > 1e-9) throw new Error('the plan cost and its executions disagree');

// The messages between the agents, read by the plan.
const messages: Json[] = (await api('GET', `/v1/messages?planId=${plan.id}&limit=100`)).data;
console.log(`messages on the plan: ${messages.length}: ${messages.map((m) => `${m.fromAgent} -> ${m.toAgent}`).join(', ')}`);

// A share link: a password and at most two opens.
const share: Json = await api('POST', `/v1/plans/${plan.id}/shares`, { shareType: 'link', password: 'sardines', maxAccessCount: 2 });
const open = (password?: string) => call('GET', `/v1/shared/${share.token}`, undefined, password ? { 'x-share-password': password } : {}, null);
const opened = await open('sardines');
console.log(`shared: ${opened.body.plan.title}, itinerary day3 "${opened.body.document.travel.itinerary.day3.slice(0, 24)}…", costs shown: ${'costs' in opened.body}`);
const wrong = await open('anchovies');
await open('sardines');
const third = await open('sardines');
console.log(`wrong password: ${wrong.status} ${wrong.body.error.code}; third open: ${third.status} ${third.body.error.code}`);

// Another organization (a new sign-up) sees none of it.
const stranger: Json = await api('POST', '/v1/auth/signup', {
  email: `stranger-${Date.now()}@example.com`, password: 'another long passphrase', organizationName: 'Elsewhere',
}, {}, null);
const as = stranger.tokens.accessToken as string;
const theirPlan = await call('GET', `/v1/plans/${plan.id}`, undefined, {}, as);
const theirList: Json = await api('GET', '/v1/plans', undefined, {}, as);
const theirMessages: Json = await api('GET', `/v1/messages?planId=${plan.id}`, undefined, {}, as);
console.log(`another organization: plan ${theirPlan.status}, ${theirList.data.length} plans, ${theirMessages.data.length} messages`);
