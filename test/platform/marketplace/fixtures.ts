import { expect } from 'vitest';
import { grantPlatformAdmin } from '../../../src/platform/index.js';
import { client, ok, signupBuilder, type Auth } from '../../agents/fixtures.js';
import { signupUser, type SignedUp, type TestApp } from '../../helpers/app.js';

export const PUBLIC_KEYS = [
  'id', 'slug', 'title', 'shortDescription', 'longDescription', 'category', 'tags', 'iconUrl', 'screenshots', 'demoVideoUrl',
  'pricingModel', 'priceCents', 'agentVersion', 'tools', 'installCount', 'ratingAverage', 'ratingCount', 'isFeatured',
  'publishedAt', 'updatedAt',
].sort();

let n = 0;
export const uniqueSlug = (base = 'trip-planner') => `${base}-${process.pid}-${++n}`;

/** A signed-up user made a platform admin through the CLI's function, in-process. */
export async function platformAdmin(t: TestApp): Promise<SignedUp> {
  const u = await signupUser(t.app, { organizationName: 'Operator Staff' });
  const r = await grantPlatformAdmin(t.db, { email: u.email, by: 'test' });
  expect(r.granted).toBe(true);
  return u;
}

/**
 * An active agent whose tool carries every kind of credential a listing must
 * not publish: a stored-secret header, a literal Authorization header, an
 * api_key query parameter and a password in the URL, plus a token in metadata.
 */
export async function publishableAgent(t: TestApp, auth: Auth, script = 'installed') {
  const c = client(t);
  const tool = ok(await c.post('/v1/tools', auth, {
    name: `lookup_${++n}`,
    description: 'Look up a place',
    toolType: 'api',
    config: {
      url: 'https://bob:hunter2@places.example.com/q', method: 'GET',
      headers: { 'x-api-key': { secret: 'PLACES_KEY' }, Authorization: 'Bearer literal-secret-123', Accept: 'application/json' },
      query: { api_key: 'query-secret-456', city: '{city}' },
    },
    inputSchema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  }), 201);
  const agent = ok(await c.post('/v1/agents', auth, {
    name: 'Trip Planner', systemPrompt: 'You plan trips. Internal note: escalate to ops.', status: 'active',
    modelSettings: { provider: 'scripted', script }, metadata: { internalToken: 'meta-secret-789', team: 'travel' },
    tools: [tool.id],
  }), 201);
  return { agent, tool };
}

export const SECRET_VALUES = ['PLACES_KEY', 'literal-secret-123', 'query-secret-456', 'hunter2', 'meta-secret-789'];

export const listingBody = (agentId: string, over: Record<string, unknown> = {}) => ({
  agent: agentId,
  slug: uniqueSlug(),
  title: 'Trip Planner Pro',
  shortDescription: 'Plans multi-city itineraries with live place lookups',
  longDescription: 'Give it cities and dates; it returns a day-by-day itinerary.',
  category: 'travel',
  tags: ['itinerary', 'travel'],
  ...over,
});

export interface Market {
  publisher: SignedUp;
  admin: SignedUp;
}

/** Publish → submit → approve: an approved listing of a fresh publisher. */
export async function approvedListing(t: TestApp, admin: SignedUp, over: Record<string, unknown> = {}, publisher?: SignedUp) {
  const c = client(t);
  const pub = publisher ?? (await signupBuilder(t));
  const { agent } = await publishableAgent(t, pub.auth);
  const l = ok(await c.post('/v1/marketplace/listings', pub.auth, listingBody(agent.id, over)), 201);
  const s = ok(await c.post(`/v1/marketplace/listings/${l.id}/submit`, pub.auth, { version: l.version }));
  expect(s.status).toBe('pending_review');
  const a = ok(await c.post(`/v1/admin/marketplace/listings/${l.id}/review`, admin.auth, { decision: 'approve', reason: 'looks good' }));
  expect(a.status).toBe('approved');
  return { publisher: pub, agent, listing: a };
}
