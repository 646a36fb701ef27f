import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actor, principal } from '../../http/context.js';
import { Text } from '../../http/json-schemas.js';
import { decodeCursor, page, pageQuery } from '../../http/pagination.js';
import { AllowedHosts } from '../allowed-hosts.js';
import * as secrets from '../secrets-service.js';
import type { SecretsDeps } from '../secrets-service.js';

// The table's CHECK, so a bad name is a 400 naming the field, not a constraint error.
const SecretName = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a letter or "_", then letters, digits and "_" (such as GITHUB_TOKEN)');
// Header-sized values; 16 KiB is far above any API key or token in use.
const Value = z.string().min(1, 'must not be empty').max(16_384).describe('the secret; write-only, never returned');
const Description = Text(1000).nullable().describe('what the secret is for (never the secret itself)');
const NameParams = z.strictObject({ name: SecretName });
const Cursor = z.object({ name: SecretName });

/**
 * Values go in and never come out: every response is the metadata only
 * (SecretMeta has no value field, and the repo never selects ciphertext for it).
 */
export function secretsRoutes(deps: SecretsDeps): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.get('/v1/secrets', {
      config: { permission: 'secrets:read' },
      schema: { tags: ['secrets'], summary: 'Stored secrets by name (metadata only, never values)', querystring: z.strictObject({ ...pageQuery }) },
    }, async (req) => {
      const after = decodeCursor(req.query.cursor, Cursor);
      const rows = await secrets.listSecrets(deps, principal(req).orgId, { afterName: after?.name, limit: req.query.limit + 1 });
      return page(rows, req.query.limit, (s) => ({ name: s.name }));
    });

    r.get('/v1/secrets/:name', {
      config: { permission: 'secrets:read' },
      schema: { tags: ['secrets'], summary: "One secret's metadata (never its value)", params: NameParams },
    }, async (req) => secrets.getSecret(deps, principal(req).orgId, req.params.name));

    r.post('/v1/secrets', {
      config: { permission: 'secrets:write' },
      schema: {
        tags: ['secrets'],
        summary: 'Store a secret for http tools and model endpoints on allowedHosts to send; 409 if the name is taken',
        body: z.strictObject({ name: SecretName, value: Value, description: Description.optional(), allowedHosts: AllowedHosts }),
      },
    }, async (req, reply) => reply.status(201).send(await secrets.createSecret(deps, actor(req), req.body)));

    r.put('/v1/secrets/:name', {
      config: { permission: 'secrets:write' },
      schema: {
        tags: ['secrets'],
        summary: "Replace a secret's value (a new version); description and allowedHosts are kept unless sent (a null description clears it)",
        params: NameParams,
        body: z.strictObject({ value: Value, description: Description.optional(), allowedHosts: AllowedHosts.optional() }),
      },
    }, async (req) => secrets.replaceSecret(deps, actor(req), req.params.name, req.body));

    r.delete('/v1/secrets/:name', {
      config: { permission: 'secrets:write' },
      schema: { tags: ['secrets'], summary: 'Delete a secret; tools that send it fail until it is stored again', params: NameParams },
    }, async (req, reply) => {
      await secrets.deleteSecret(deps, actor(req), req.params.name);
      return reply.status(204).send();
    });
  };
}
