import type { FastifyInstance, InjectOptions } from 'fastify';
import { PASSWORD, signupUser, uniqueEmail, type SignedUp } from '../helpers/app.js';

/**
 * Fills as many tables as the API reaches for one organization: identity,
 * agents, runs (one ingested batch with executions, spans, decisions and
 * messages), memory, plans, tasks, campaigns, webhooks, workflows, jobs,
 * evals, integrations, marketplace, billing. Each step is a named list of
 * calls; a step whose call answers an unexpected status is reported (the
 * round-trip test asserts there are none), so one changed route shows up by
 * name rather than as a crash in the middle.
 */

type Auth = { authorization: string };
type Body = ReturnType<typeof JSON.parse>;

export interface Seeded {
  owner: SignedUp;
  agentId: string;
  failures: string[];
  /** the plaintext API key (never stored): the export must not contain it */
  apiKey: string;
  listingId: string | undefined;
}

const NOW = Date.now();
const at = (msAgo: number) => new Date(NOW - msAgo).toISOString();
const MIN = 60_000;

export async function seedOrganization(app: FastifyInstance, tag: string): Promise<Seeded> {
  const failures: string[] = [];
  const owner = await signupUser(app, { organizationName: `Org ${tag}` });
  const call = async (step: string, method: InjectOptions['method'], url: string, payload?: unknown, auth: Auth = owner.auth, expect = [200, 201, 202, 204]): Promise<Body> => {
    const res = await app.inject({ method, url, headers: auth, ...(payload !== undefined ? { payload: payload as InjectOptions['payload'] } : {}) });
    if (!expect.includes(res.statusCode)) {
      failures.push(`${step}: ${method} ${url} answered ${res.statusCode} ${res.body.slice(0, 300)}`);
      return undefined;
    }
    return res.body ? res.json() : undefined;
  };

  // identity: an API key (used once: api_key_usage), an invitation accepted (a second member), a role, a session
  const key = await call('api key', 'POST', '/v1/api-keys', { name: 'ci', scopes: ['*'] });
  await call('api key use', 'GET', '/v1/me', undefined, { authorization: `Bearer ${key?.key}` });
  const inv = await call('invitation', 'POST', '/v1/invitations', { email: uniqueEmail('member'), role: 'viewer' });
  if (inv) await call('accept', 'POST', '/v1/auth/invitations/accept', { token: inv.token, password: PASSWORD }, {} as Auth);
  await call('pending invitation', 'POST', '/v1/invitations', { email: uniqueEmail('pending'), role: 'viewer' });
  await call('role', 'POST', '/v1/roles', { name: 'auditor', permissions: ['audit:read', 'orgs:read'] });
  await call('session', 'POST', '/v1/sessions', {});
  await call('refresh', 'POST', '/v1/auth/refresh', { refreshToken: owner.refreshToken }, {} as Auth);
  await call('mfa', 'POST', '/v1/me/mfa/totp', { name: 'phone' });

  // agents: tool, agent, versions, capability, state
  const tool = await call('tool', 'POST', '/v1/tools', {
    name: `search_${tag}`,
    description: 'Search the web',
    toolType: 'api',
    config: { url: 'https://search.example.com/q', method: 'GET' },
    inputSchema: { type: 'object', properties: { q: { type: 'string' } } },
  });
  const agent = await call('agent', 'POST', '/v1/agents', { name: 'Trip Planner', slug: `planner-${tag}`, systemPrompt: 'Plan trips.', ...(tool ? { tools: [tool.id] } : {}) });
  const agentId: string = agent?.id;
  await call('version', 'POST', `/v1/agents/${agentId}/versions`, { version: '1.0.0', changelog: 'first' });
  await call('capability', 'PUT', `/v1/agents/${agentId}/capabilities/planning`, { proficiency: 0.5 });
  await call('state', 'POST', `/v1/agents/${agentId}/states`, { checkpointType: 'manual', stateData: { a: 1 } });
  await call('metrics', 'POST', `/v1/agents/${agentId}/metrics`, { metrics: [{ type: 'latency_ms', value: 120, recordedAt: at(5 * MIN) }] });
  await call('model price', 'POST', '/v1/model-prices', { modelPattern: '^gpt-4o$', provider: 'openai', inputPrice: 0.000001, outputPrice: 0.000002 });

  // runs: one batch with every kind of item
  const ingested = await call('ingest', 'POST', '/v1/ingest/batch', {
    executions: [
      { clientId: 'e1', agentId, status: 'completed', createdAt: at(60 * MIN), completedAt: at(59 * MIN), modelName: 'gpt-4o', promptTokens: 100, completionTokens: 50, tags: ['travel'], sessionId: 's-1' },
      { clientId: 'e2', agentId, status: 'failed', createdAt: at(30 * MIN), errorCode: 'timeout', errorMessage: 'took too long' },
    ],
    spans: [
      { clientId: 's1', executionClientId: 'e1', kind: 'llm_call', name: 'plan', model: 'gpt-4o', provider: 'openai', promptTokens: 100, completionTokens: 50, startedAt: at(60 * MIN), endedAt: at(59 * MIN) },
      { clientId: 's2', executionClientId: 'e1', kind: 'tool_call', name: 'search', toolName: 'search', startedAt: at(59 * MIN) },
    ],
    decisions: [{ clientId: 'd1', executionClientId: 'e1', decidedAt: at(59 * MIN), decisionType: 'route', reasoningChain: [{ step: 1, thought: 'go' }], confidence: 0.9 }],
    messages: [{ clientId: 'm1', executionClientId: 'e1', fromAgent: `planner-${tag}`, toAgent: 'booker', messageType: 'request', messageData: { city: 'Lisbon' }, sentAt: at(59 * MIN) }],
  });
  if (ingested && ingested.rejected !== 0) failures.push(`ingest rejected items: ${JSON.stringify(ingested.results).slice(0, 600)}`);

  // memory
  await call('memory', 'POST', `/v1/agents/${agentId}/memories`, { content: 'The user prefers window seats', memoryType: 'preference', importance: 0.9, tags: ['seating'] });
  await call('memory config', 'PUT', `/v1/agents/${agentId}/memory/config`, { dedupeThreshold: 0.9 });
  const item = await call('knowledge', 'POST', '/v1/knowledge', { domain: 'travel', content: { title: 'Visa rules for Japan', description: 'Visa-free for 90 days.' }, sourceAgentId: agentId });
  await call('knowledge search', 'POST', '/v1/knowledge/search', { query: 'visa japan', mode: 'text' });
  const target = await call('agent 2', 'POST', '/v1/agents', { name: 'Booker', slug: `booker-${tag}` });
  if (item && target) await call('transfer', 'POST', `/v1/knowledge/${item.id}/transfers`, { targetAgentId: target.id });
  const learning = await call('learning', 'POST', `/v1/agents/${agentId}/learnings`, { sourceType: 'execution', learningCategory: 'pricing', finding: 'Discounts above 20% do not help', confidence: 0.8 });
  if (learning) await call('application', 'POST', `/v1/agents/${agentId}/learnings/${learning.id}/applications`, { success: true });
  const ls = await call('learning session', 'POST', `/v1/agents/${agentId}/learning-sessions`, { sourceDomain: 'travel', targetDomain: 'events' });
  if (ls) await call('session metrics', 'POST', `/v1/learning-sessions/${ls.id}/metrics`, { metrics: { loss: 0.5 } });
  const pattern = await call('pattern', 'POST', '/v1/patterns', { type: 'convergent', name: `p-${tag}`, patternData: { k: 1 } });
  if (pattern) await call('pattern use', 'POST', `/v1/patterns/${pattern.id}/uses`, { agentId, success: true, executionTimeMs: 40 });

  // plans, shares, tasks
  const plan = await call('plan', 'POST', '/v1/plans', {
    kind: 'travel',
    title: 'Lisbon in May',
    travel: { destinations: [{ name: 'Lisbon', country: 'PT' }], startDate: '2027-05-01', endDate: '2027-05-08', travelerCount: 2 },
  });
  if (plan) {
    await call('plan change', 'PATCH', `/v1/plans/${plan.id}`, { version: plan.version, title: 'Lisbon and Porto in May' });
    const share = await call('share', 'POST', `/v1/plans/${plan.id}/shares`, { shareType: 'link', permissions: ['comment'], password: 'open sesame' });
    const ref = share?.token ?? share?.url?.split('/').pop();
    if (ref) {
      await call('shared wrong password', 'GET', `/v1/shared/${ref}`, undefined, { 'x-share-password': 'wrong' } as unknown as Auth, [401]);
      await call('shared comment', 'POST', `/v1/shared/${ref}/comments`, { body: 'Looks great', authorName: 'Friend' }, { 'x-share-password': 'open sesame' } as unknown as Auth);
    }
  }
  const project = await call('project', 'POST', '/v1/projects', { name: 'Website relaunch' });
  const list = await call('list', 'POST', '/v1/lists', { name: 'Backlog', ...(project ? { projectId: project.id } : {}) });
  await call('task', 'POST', '/v1/tasks', { title: 'Write the release notes', ...(list ? { listId: list.id } : {}) });

  // campaigns
  const service = await call('service', 'POST', '/v1/services', { name: 'CloudGuard', category: 'security', description: 'CSPM' });
  await call('campaign', 'POST', '/v1/campaigns', {
    name: 'Spring push',
    theme: 'security first',
    startDate: '2027-03-01',
    endDate: '2027-03-31',
    totalBudget: 25000,
    expectedRoi: 150,
    ...(service ? { serviceId: service.id } : {}),
    ideas: [{ theme: 'Zero trust', coreMessage: 'Verify everything', targetSegments: ['CISOs'], competitiveAngle: 'Agentless' }],
    channelPlans: [{ channel: 'email', budgetAllocation: 40, strategy: 'nurture' }],
  });
  await call('template', 'POST', '/v1/campaign-templates', {
    name: 'Product launch',
    theme: 'launch',
    ideas: [{ theme: 'Zero trust', coreMessage: 'Verify everything', targetSegments: ['CISOs'], competitiveAngle: 'Agentless' }],
    channelMix: [{ channel: 'email', budgetAllocation: 40, strategy: 'nurture' }],
  });
  await call('signal', 'POST', '/v1/market-signals', { source: 'Twitter', content: 'Competitor X raised prices', observedAt: at(MIN), relevanceScore: 0.8, category: 'pricing', impact: 'high' });

  // platform: secrets, webhooks (their test event: an event and a delivery job), workflows, schedules, evals, integrations, billing, marketplace
  await call('secret', 'POST', '/v1/secrets', { name: 'LLM_KEY', value: 'sk-very-secret-value-0001', allowedHosts: ['api.openai.com'] });
  const hook = await call('webhook', 'POST', '/v1/webhooks', { url: 'https://hooks.example.com/agentbase', events: ['*'] });
  if (hook) await call('webhook test', 'POST', `/v1/webhooks/${hook.id}/test`);
  const wf = await call('workflow', 'POST', '/v1/workflows', {
    name: `wf-${tag}`,
    status: 'active',
    steps: [{ key: 'ok', type: 'approval', approvers: [owner.userId], message: 'Spend?' }],
  });
  if (wf) await call('workflow run', 'POST', `/v1/workflows/${wf.id}/executions`, { input: {} });
  await call('schedule', 'POST', '/v1/job-schedules', { name: `nightly-${tag}`, cron: '0 3 * * *', task: 'report' });
  const suite = await call('eval suite', 'POST', '/v1/eval-suites', { agentId, name: 'smoke' });
  if (suite) {
    await call('eval case', 'POST', `/v1/eval-suites/${suite.id}/cases`, { name: 'ping', input: 'ping', expectedOutput: 'pong', scorer: { type: 'exact' } });
    await call('eval run', 'POST', `/v1/eval-suites/${suite.id}/runs`, {});
  }
  const integration = await call('integration', 'POST', '/v1/integrations', {
    provider: 'custom',
    displayName: 'Test provider',
    scopes: ['repo'],
    oauth: { tokenUrl: 'https://auth.example.com/token', authorizeUrl: 'https://auth.example.com/authorize', clientId: 'client', clientSecret: 'client-secret-value', clientAuth: 'basic', redirectUri: 'https://app.example.com/oauth/back' },
  });
  if (integration) {
    await call('integration token', 'PUT', `/v1/integrations/${integration.id}/token`, { accessToken: 'access-token-value', refreshToken: 'refresh-token-value', expiresIn: 3600 });
    await call('oauth authorize', 'POST', `/v1/integrations/${integration.id}/oauth/authorize`);
  }
  await call('subscription', 'PUT', '/v1/billing/subscription', { plan: 'pro' });
  const listing = await call('listing', 'POST', '/v1/marketplace/listings', {
    agent: agentId,
    slug: `planner-pro-${tag}`,
    title: 'Trip Planner Pro',
    shortDescription: 'Plans multi-city itineraries',
    longDescription: 'Give it cities and dates.',
    category: 'travel',
    tags: ['travel'],
  });

  if (listing) await call('listing submit', 'POST', `/v1/marketplace/listings/${listing.id}/submit`, { version: listing.version });

  // ops: a cost report read through the query cache (query_cache, query_cache_stats), a retention policy
  await call('costs (cached)', 'GET', '/v1/costs?groupBy=day');
  await call('retention', 'PUT', '/v1/org/retention', { policies: { spans: 30 } });

  return { owner, agentId, failures, apiKey: key?.key ?? '', listingId: listing?.id };
}

/**
 * What needs two organizations and a platform administrator (granted by the
 * CLI beforehand: `admin` is the publisher, a staff member too): the review
 * approves the publisher's listing, the other organization installs and rates it.
 */
export async function seedMarketplace(app: FastifyInstance, admin: Seeded, buyer: Seeded): Promise<string[]> {
  const failures: string[] = [];
  const call = async (step: string, method: InjectOptions['method'], url: string, auth: Auth, payload?: unknown) => {
    const res = await app.inject({ method, url, headers: auth, ...(payload !== undefined ? { payload: payload as InjectOptions['payload'] } : {}) });
    if (res.statusCode >= 300) failures.push(`${step}: ${method} ${url} answered ${res.statusCode} ${res.body.slice(0, 300)}`);
  };
  await call('review', 'POST', `/v1/admin/marketplace/listings/${admin.listingId}/review`, admin.owner.auth, { decision: 'approve', reason: 'looks good' });
  await call('install', 'POST', `/v1/marketplace/${admin.listingId}/install`, buyer.owner.auth);
  await call('rate', 'POST', `/v1/marketplace/${admin.listingId}/reviews`, buyer.owner.auth, { rating: 5 });
  return failures;
}
