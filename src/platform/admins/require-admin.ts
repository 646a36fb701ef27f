import type { FastifyRequest, onRequestHookHandler } from 'fastify';
import type { Database } from '../../db/index.js';
import { AppError } from '../../errors.js';
import { principal } from '../../http/context.js';
import { isPlatformAdmin } from './admins-service.js';

export const platformAdminRequired = () =>
  new AppError(
    403,
    'platform_admin_required',
    'this needs a platform administrator (granted with `agentbase admin grant EMAIL`); no organization role grants it, and API keys never carry it',
  );

/**
 * Whether the request's caller is a platform administrator. Only a user
 * signed in with an access token counts: an API key belongs to an
 * organization and carries organization permissions, never staff rights.
 */
export async function callerIsPlatformAdmin(db: Database, req: FastifyRequest): Promise<boolean> {
  const p = principal(req);
  return p.kind === 'user' && isPlatformAdmin(db, p.userId);
}

/**
 * A route-level onRequest hook: route-level hooks run after the app's own
 * onRequest hooks, so authentication (src/http/app.ts) has set the principal
 * by then. Use it as `{ onRequest: requirePlatformAdmin(db) }` or spread
 * `platformAdminOnly(db)` into the route options; leave `permission` unset
 * (organization permissions do not apply to staff routes).
 */
export function requirePlatformAdmin(db: Database): onRequestHookHandler {
  return async (req) => {
    if (!(await callerIsPlatformAdmin(db, req))) throw platformAdminRequired();
  };
}

export const platformAdminOnly = (db: Database) => ({ onRequest: requirePlatformAdmin(db) });
