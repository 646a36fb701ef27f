import { client, ok } from '../agents/fixtures.js';
import { createTestApp, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';

/** What the campaign tests start from: a database, two organizations and a service of each (the catalog entry campaigns name). */
export interface CampaignWorld {
  t: TestApp;
  owner: SignedUp;
  other: SignedUp;
  c: ReturnType<typeof client>;
  serviceId: string;
  otherServiceId: string;
}

export async function campaignWorld(): Promise<CampaignWorld> {
  const t = await createTestApp();
  const owner = await signupUser(t.app);
  const other = await signupUser(t.app, { organizationName: 'Other Org' });
  const c = client(t);
  const serviceId = ok(await c.post('/v1/services', owner.auth, { name: 'CloudGuard', category: 'security', description: 'CSPM' }), 201).id;
  const otherServiceId = ok(await c.post('/v1/services', other.auth, { name: 'Theirs', category: 'security', description: 'x' }), 201).id;
  return { t, owner, other, c, serviceId, otherServiceId };
}
