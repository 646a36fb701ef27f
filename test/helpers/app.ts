import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { parseConfig, type Config } from '../../src/config/config.js';
import { createService, type Service } from '../../src/server.js';
import { freshDatabase, type TestDb } from './db.js';

export const TEST_SECRET = 'test-secret-test-secret-test-secret-0123456789';

export interface TestApp extends TestDb {
  app: FastifyInstance;
  config: Config;
  /** the service behind app: its runtime and job handlers (tests start their own Worker) */
  service: Service;
  close(): Promise<void>;
}

export async function createTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  const t = await freshDatabase();
  const config = parseConfig({ AGENTBASE_SECRET: TEST_SECRET, LOG_LEVEL: 'silent', AGENTBASE_MEMORY_EMBEDDER: 'hashed', ...env });
  const svc = await createService(config, t.db, false);
  return {
    ...t,
    app: svc.app,
    config,
    service: svc,
    async close() {
      await svc.close();
      await t.drop();
    },
  };
}

let counter = 0;
export const uniqueEmail = (tag = 'user') => `${tag}-${process.pid}-${Date.now()}-${++counter}@example.com`;
export const PASSWORD = 'correct horse battery staple';

export interface SignedUp {
  userId: string;
  orgId: string;
  email: string;
  accessToken: string;
  refreshToken: string;
  auth: { authorization: string };
}

export async function signupUser(app: FastifyInstance, over: Record<string, unknown> = {}): Promise<SignedUp> {
  const email = (over.email as string) ?? uniqueEmail();
  const res = await app.inject({
    method: 'POST',
    url: '/v1/auth/signup',
    payload: { email, password: PASSWORD, organizationName: 'Acme Travel', ...over },
  });
  if (res.statusCode !== 201) throw new Error(`signup failed: ${res.statusCode} ${res.body}`);
  const b = res.json();
  return {
    userId: b.user.id,
    orgId: b.organization.id,
    email,
    accessToken: b.tokens.accessToken,
    refreshToken: b.tokens.refreshToken,
    auth: { authorization: `Bearer ${b.tokens.accessToken}` },
  };
}

/** Asserts the one error shape and returns its code. */
export function errorOf(res: LightMyRequestResponse): { code: string; message: string; details?: unknown; requestId: string } {
  const b = res.json() as { error?: { code: string; message: string; details?: unknown; requestId: string } };
  if (!b.error || typeof b.error.code !== 'string' || typeof b.error.message !== 'string' || typeof b.error.requestId !== 'string') {
    throw new Error(`not an error response: ${res.statusCode} ${res.body}`);
  }
  return b.error;
}
