import { appendAudit, type Actor } from '../../audit/index.js';
import { isPgError, type Sql } from '../../db/index.js';
import { conflict, notFound, validationFailed, versionConflict } from '../../errors.js';
import { seal } from '../../identity/index.js';
import type { IntegrationsDeps } from './deps.js';
import { assertNoSecrets, RESERVED_AUTHORIZE_PARAMS } from './integration-config.js';
import * as repo from './integrations-repo.js';
import type { ClientAuth, Integration, IntegrationFields, IntegrationStatus } from './integrations-repo.js';
import { PROVIDER_PRESETS } from './provider-presets.js';
import { deleteStatesOf } from './states-repo.js';
import { deleteTokens } from './tokens-repo.js';

/** OAuth client settings as the API takes them; null clears a field, absent keeps it. */
export interface OAuthSettingsInput {
  authorizeUrl?: string | null | undefined;
  tokenUrl?: string | null | undefined;
  revocationUrl?: string | null | undefined;
  redirectUri?: string | null | undefined;
  clientId?: string | null | undefined;
  /** write-only: sealed when stored, never returned */
  clientSecret?: string | null | undefined;
  clientAuth?: ClientAuth | undefined;
  authorizeParams?: Record<string, string> | undefined;
}

export interface CreateIntegrationInput {
  provider: string;
  displayName?: string | undefined;
  providerAccountId?: string | null | undefined;
  providerAccountName?: string | null | undefined;
  config?: Record<string, unknown> | undefined;
  scopes?: string[] | undefined;
  allowedHosts?: string[] | undefined;
  oauth?: OAuthSettingsInput | undefined;
}

export type UpdateIntegrationInput = Partial<Omit<CreateIntegrationInput, 'provider'>> & {
  version: number;
  /** false switches the integration off (status disabled: no token is handed out); true switches it back on */
  enabled?: boolean | undefined;
};

const missing = (id: string) => notFound('integration', id);
const accountTaken = () =>
  conflict('you already have an integration of this provider for this providerAccountId; change or delete that one', { field: 'providerAccountId' });

/** What an audit row keeps: the API's view, which has no secret (clientSecretSet, never the secret; token metadata, never tokens). */
export const audited = (i: Integration) => i;

function assertAuthorizeParams(params: Record<string, string> | undefined): void {
  const clash = Object.keys(params ?? {}).filter((k) => RESERVED_AUTHORIZE_PARAMS.has(k));
  if (clash.length) {
    throw validationFailed(`oauth.authorizeParams may not set ${clash.join(', ')}: the authorization request sets ${clash.length > 1 ? 'them' : 'it'} itself`,
      clash.map((k) => ({ path: `body.oauth.authorizeParams.${k}`, message: 'is set by the server' })));
  }
}

/** The stored fields after applying a patch of OAuth settings (sealing a new client secret). */
function mergeOAuth(deps: IntegrationsDeps, base: Omit<IntegrationFields, 'provider' | 'displayName' | 'providerAccountId' | 'providerAccountName' | 'config' | 'scopes' | 'allowedHosts'>, o: OAuthSettingsInput | undefined) {
  const pick = <K extends keyof typeof base>(k: K, v: (typeof base)[K] | undefined) => (v === undefined ? base[k] : v);
  return {
    authorizeUrl: pick('authorizeUrl', o?.authorizeUrl),
    tokenUrl: pick('tokenUrl', o?.tokenUrl),
    revocationUrl: pick('revocationUrl', o?.revocationUrl),
    redirectUri: pick('redirectUri', o?.redirectUri),
    clientId: pick('clientId', o?.clientId),
    clientSecretCiphertext: o?.clientSecret === undefined ? base.clientSecretCiphertext : o.clientSecret === null ? null : seal(deps.keys.secretBox, o.clientSecret),
    clientAuth: pick('clientAuth', o?.clientAuth),
    authorizeParams: pick('authorizeParams', o?.authorizeParams),
  };
}

export async function createIntegration(deps: IntegrationsDeps, actor: Actor & { userId: string }, input: CreateIntegrationInput): Promise<Integration> {
  const config = input.config ?? {};
  assertNoSecrets(config, '{id}');
  assertAuthorizeParams(input.oauth?.authorizeParams);
  const preset = PROVIDER_PRESETS[input.provider];
  const fields: IntegrationFields = {
    provider: input.provider,
    displayName: input.displayName ?? input.provider,
    providerAccountId: input.providerAccountId ?? null,
    providerAccountName: input.providerAccountName ?? null,
    config,
    scopes: [...new Set(input.scopes ?? [])],
    allowedHosts: [...new Set(input.allowedHosts ?? preset?.allowedHosts ?? [])],
    ...mergeOAuth(deps, {
      authorizeUrl: preset?.authorizeUrl ?? null,
      tokenUrl: preset?.tokenUrl ?? null,
      revocationUrl: preset?.revocationUrl ?? null,
      redirectUri: null,
      clientId: null,
      clientSecretCiphertext: null,
      clientAuth: preset?.clientAuth ?? 'basic',
      authorizeParams: preset?.authorizeParams ?? {},
    }, input.oauth),
  };
  try {
    return await deps.db.tenant(actor.orgId, async (sql) => {
      const id = await repo.insertIntegration(sql, actor.orgId, actor.userId, fields);
      const created = (await repo.getIntegration(sql, actor.orgId, id))!;
      await appendAudit(sql, actor, { action: 'integration.created', resourceType: 'integration', resourceId: id, newValues: audited(created) });
      return created;
    });
  } catch (err) {
    if (isPgError(err, '23505')) throw accountTaken();
    throw err;
  }
}

export async function getIntegration(deps: IntegrationsDeps, orgId: string, id: string): Promise<Integration> {
  const i = await deps.db.tenant(orgId, (sql) => repo.getIntegration(sql, orgId, id));
  if (!i) throw missing(id);
  return i;
}

export function listIntegrations(deps: IntegrationsDeps, orgId: string, f: Parameters<typeof repo.listIntegrations>[2]): Promise<Integration[]> {
  return deps.db.tenant(orgId, (sql) => repo.listIntegrations(sql, orgId, f));
}

/** Whether a live integration with this id exists in the organization (tools check their auth.integrationId with it). */
export function integrationExists(sql: Sql, orgId: string, id: string): Promise<boolean> {
  return repo.integrationExists(sql, orgId, id);
}

function statusAfter(before: Integration, enabled: boolean | undefined): IntegrationStatus {
  if (enabled === false) return 'disabled';
  if (enabled === true && before.status === 'disabled') return before.token ? 'connected' : 'pending';
  return before.status;
}

export async function updateIntegration(deps: IntegrationsDeps, actor: Actor, id: string, input: UpdateIntegrationInput): Promise<Integration> {
  if (input.config !== undefined) assertNoSecrets(input.config, id);
  assertAuthorizeParams(input.oauth?.authorizeParams);
  try {
    return await deps.db.tenant(actor.orgId, async (sql) => {
      const before = await repo.lockIntegration(sql, actor.orgId, id);
      if (!before) throw missing(id);
      if (before.version !== input.version) throw versionConflict('integration', input.version);
      const client = (await repo.oauthClient(sql, actor.orgId, id))!;
      const fields: IntegrationFields & { status: IntegrationStatus } = {
        provider: before.provider,
        displayName: input.displayName ?? before.displayName,
        providerAccountId: input.providerAccountId === undefined ? before.providerAccountId : input.providerAccountId,
        providerAccountName: input.providerAccountName === undefined ? before.providerAccountName : input.providerAccountName,
        config: input.config ?? before.config,
        scopes: input.scopes ? [...new Set(input.scopes)] : before.scopes,
        allowedHosts: input.allowedHosts ? [...new Set(input.allowedHosts)] : before.allowedHosts,
        ...mergeOAuth(deps, { ...before.oauth, clientSecretCiphertext: client.clientSecretCiphertext }, input.oauth),
        status: statusAfter(before, input.enabled),
      };
      if (!(await repo.updateIntegration(sql, actor.orgId, id, input.version, fields))) throw versionConflict('integration', input.version);
      const after = (await repo.getIntegration(sql, actor.orgId, id))!;
      await appendAudit(sql, actor, { action: 'integration.updated', resourceType: 'integration', resourceId: id, oldValues: audited(before), newValues: audited(after) });
      return after;
    });
  } catch (err) {
    if (isPgError(err, '23505')) throw accountTaken();
    throw err;
  }
}

/**
 * Soft delete. Its stored tokens, client secret and authorization requests
 * are deleted outright (a credential is not history); the provider is not told — revoke
 * first (POST …/revoke) to end the grant there too.
 */
export async function deleteIntegration(deps: IntegrationsDeps, actor: Actor, id: string, version?: number): Promise<void> {
  await deps.db.tenant(actor.orgId, async (sql) => {
    const before = await repo.lockIntegration(sql, actor.orgId, id);
    if (!before) throw missing(id);
    if (version !== undefined && before.version !== version) throw versionConflict('integration', version);
    await deleteTokens(sql, actor.orgId, id);
    await deleteStatesOf(sql, actor.orgId, id);
    await repo.softDeleteIntegration(sql, actor.orgId, id);
    await appendAudit(sql, actor, { action: 'integration.deleted', resourceType: 'integration', resourceId: id, oldValues: audited(before) });
  });
}
