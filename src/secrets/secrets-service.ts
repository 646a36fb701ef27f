import { appendAudit, type Actor } from '../audit/index.js';
import { isPgError, type Database, type Sql } from '../db/index.js';
import { AppError, conflict, notFound } from '../errors.js';
import { open, seal, type Keys } from '../identity/index.js';
import { hostAllowed } from './allowed-hosts.js';
import * as repo from './secrets-repo.js';
import type { SecretMeta } from './secrets-repo.js';

export interface SecretsDeps {
  db: Database;
  /** only secretBox is used: the key stored values are sealed under */
  keys: Pick<Keys, 'secretBox'>;
}

const nameTaken = (name: string) =>
  conflict(`a secret named ${name} already exists; replace its value with PUT /v1/secrets/${name}`, { field: 'name', name });
const missing = (name: string) => notFound('secret', name);

// What an audit row keeps of a secret: its metadata. The value is never passed
// to appendAudit, sealed or not, so nothing depends on key-name redaction.
const audited = (s: SecretMeta) => ({ id: s.id, name: s.name, description: s.description, allowedHosts: s.allowedHosts, version: s.version });

export async function createSecret(
  deps: SecretsDeps,
  actor: Actor,
  input: { name: string; value: string; description?: string | null; allowedHosts: readonly string[] },
): Promise<SecretMeta> {
  const ciphertext = seal(deps.keys.secretBox, input.value);
  try {
    return await deps.db.tenant(actor.orgId, async (sql) => {
      if (await repo.getSecret(sql, actor.orgId, input.name)) throw nameTaken(input.name);
      const s = await repo.insertSecret(sql, actor.orgId, actor.userId, {
        name: input.name,
        description: input.description ?? null,
        ciphertext,
        allowedHosts: input.allowedHosts,
      });
      await appendAudit(sql, actor, { action: 'secret.created', resourceType: 'secret', resourceId: s.id, newValues: audited(s) });
      return s;
    });
  } catch (err) {
    // Two concurrent creates of one name: the unique constraint decides.
    if (isPgError(err, '23505')) throw nameTaken(input.name);
    throw err;
  }
}

export function listSecrets(deps: SecretsDeps, orgId: string, f: { afterName?: string; limit: number }): Promise<SecretMeta[]> {
  return deps.db.tenant(orgId, (sql) => repo.listSecrets(sql, orgId, f));
}

export async function getSecret(deps: SecretsDeps, orgId: string, name: string): Promise<SecretMeta> {
  const s = await deps.db.tenant(orgId, (sql) => repo.getSecret(sql, orgId, name));
  if (!s) throw missing(name);
  return s;
}

/**
 * Replaces the value, and the description and allowed hosts when sent (a null
 * description clears it). Every replace is a new version.
 */
export async function replaceSecret(
  deps: SecretsDeps,
  actor: Actor,
  name: string,
  input: { value: string; description?: string | null; allowedHosts?: readonly string[] },
): Promise<SecretMeta> {
  const ciphertext = seal(deps.keys.secretBox, input.value);
  return deps.db.tenant(actor.orgId, async (sql) => {
    const before = await repo.lockSecret(sql, actor.orgId, name);
    if (!before) throw missing(name);
    const after = (await repo.replaceSecret(sql, actor.orgId, name, {
      ciphertext,
      description: input.description,
      allowedHosts: input.allowedHosts,
    }))!;
    await appendAudit(sql, actor, {
      action: 'secret.replaced',
      resourceType: 'secret',
      resourceId: after.id,
      oldValues: audited(before),
      newValues: audited(after),
    });
    return after;
  });
}

export async function deleteSecret(deps: SecretsDeps, actor: Actor, name: string): Promise<void> {
  await deps.db.tenant(actor.orgId, async (sql) => {
    const before = await repo.lockSecret(sql, actor.orgId, name);
    if (!before) throw missing(name);
    await repo.deleteSecret(sql, actor.orgId, name);
    await appendAudit(sql, actor, { action: 'secret.deleted', resourceType: 'secret', resourceId: before.id, oldValues: audited(before) });
  });
}

/**
 * The plaintext of the named secrets, for code that sends them to `host` (an
 * http tool's URL host, a model endpoint's), and marks them used. Pass the
 * Database, or the Sql of a tenant transaction of the same organization
 * already open. All or nothing: any name that is not stored fails the whole
 * call with 404 not_found naming every missing one (details.missing), and a
 * secret whose allowedHosts does not admit `host` fails it with 403 forbidden
 * (details.secret, details.host), so a tool never goes out with a header
 * half-filled and a value is never opened for a host it is not bound to.
 * Callers must send the values to `host` only, and not log, return or persist them.
 */
export async function resolveSecrets(
  dbOrSql: Database | Sql,
  keys: Pick<Keys, 'secretBox'>,
  orgId: string,
  names: readonly string[],
  host: string,
): Promise<Map<string, string>> {
  const wanted = [...new Set(names)];
  const out = new Map<string, string>();
  if (wanted.length === 0) return out;
  // The check is inside the transaction, so a failed call marks nothing used.
  const use = async (sql: Sql) => {
    const rows = await repo.useSecrets(sql, orgId, wanted);
    const found = new Map(rows.map((r) => [r.name, r]));
    const absent = wanted.filter((n) => !found.has(n));
    if (absent.length) {
      const many = absent.length > 1;
      throw new AppError(
        404,
        'not_found',
        `secret${many ? 's' : ''} ${absent.join(', ')} ${many ? 'are' : 'is'} not stored in this organization; create ${many ? 'them' : 'it'} with POST /v1/secrets`,
        { missing: absent },
      );
    }
    for (const name of wanted) {
      if (!hostAllowed(host, found.get(name)!.allowedHosts)) throw refusedHost(name, host);
    }
    return new Map(rows.map((r) => [r.name, r.ciphertext]));
  };
  const found = isDatabase(dbOrSql) ? await dbOrSql.tenant(orgId, use) : await use(dbOrSql);
  for (const name of wanted) {
    try {
      out.set(name, open(keys.secretBox, found.get(name)!));
    } catch {
      // The usual cause is a changed AGENTBASE_SECRET: the key is derived from it.
      throw new AppError(500, 'internal', `secret ${name} cannot be decrypted with the current AGENTBASE_SECRET; store its value again with PUT /v1/secrets/${name}`, {
        secret: name,
      });
    }
  }
  return out;
}

const refusedHost = (name: string, host: string) =>
  new AppError(403, 'forbidden', `secret ${name} may not be sent to host ${host}; add ${host} to its allowedHosts (PUT /v1/secrets/${name})`, {
    secret: name,
    host,
  });

function isDatabase(x: Database | Sql): x is Database {
  return typeof (x as Partial<Database>).tenant === 'function';
}
