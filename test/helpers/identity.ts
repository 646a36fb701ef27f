import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import { PASSWORD, uniqueEmail, type SignedUp } from './app.js';

export type Auth = { authorization: string };
export const bearer = (token: string): Auth => ({ authorization: `Bearer ${token}` });

export async function invite(app: FastifyInstance, owner: Auth, role: string, email = uniqueEmail(role)) {
  const res = await app.inject({ method: 'POST', url: '/v1/invitations', headers: owner, payload: { email, role } });
  expect(res.statusCode, res.body).toBe(201);
  return { id: res.json().invitation.id as string, token: res.json().token as string, email };
}

export const accept = (app: FastifyInstance, payload: Record<string, unknown>, auth?: Auth) =>
  app.inject({ method: 'POST', url: '/v1/auth/invitations/accept', headers: auth ?? {}, payload });

/** Invites a new person with a role and has them accept; returns their user id, email and access. */
export async function join(app: FastifyInstance, owner: SignedUp, role: string) {
  const inv = await invite(app, owner.auth, role);
  const res = await accept(app, { token: inv.token, password: PASSWORD });
  expect(res.statusCode, res.body).toBe(201);
  return { userId: res.json().userId as string, email: inv.email, auth: bearer(res.json().tokens.accessToken) };
}

export async function createKey(app: FastifyInstance, auth: Auth, payload: Record<string, unknown>) {
  const res = await app.inject({ method: 'POST', url: '/v1/api-keys', headers: auth, payload });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: string; key: string; rateLimit: number; expiresAt: string | null };
}
