import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actor, held, principal } from '../../http/context.js';
import { decodeCursor, page, pageQuery } from '../../http/pagination.js';
import { MetadataObject } from '../../http/json-schemas.js';
import type { IdentityDeps } from '../deps.js';
import * as members from '../members-service.js';
import * as roles from '../roles-service.js';
import { Email, IdParams, PermissionName, RoleName } from './schemas.js';

const MemberCursor = z.object({ userId: z.uuid() });

export function orgRoutes(deps: IdentityDeps): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    // ---------------------------------------------------------------- organization
    r.get('/v1/org', {
      config: { permission: 'orgs:read' },
      schema: { tags: ['organization'], summary: 'The current organization, its settings and limits' },
    }, async (req) => roles.getOrganization(deps, principal(req).orgId));

    r.patch('/v1/org', {
      config: { permission: 'orgs:write' },
      schema: {
        tags: ['organization'],
        summary: 'Change the organization; send the version you read (a stale version gets 409)',
        body: z.strictObject({
          version: z.number().int().min(1),
          name: z.string().trim().min(1).max(255).optional(),
          logoUrl: z.url().max(2000).nullable().optional(),
          settings: MetadataObject.optional(),
          maxAgents: z.number().int().min(0).max(1_000_000).optional(),
          maxExecutionsPerMonth: z.number().int().min(0).max(2_000_000_000).optional()
            .describe('runs the agent runtime executes per calendar month (UTC); past it a run is refused with 429 quota_exceeded'),
          maxTeamMembers: z.number().int().min(1).max(100_000).optional(),
          maxIngestedSpansPerMonth: z.number().int().min(0).max(1_000_000_000_000).optional()
            .describe('spans ingestion (batch and OTLP) accepts per calendar month (UTC); past it a batch is refused with 429 quota_exceeded'),
          maxIngestedSpansPerSecond: z.number().int().min(1).max(10_000_000).optional()
            .describe('spans per second ingestion accepts on average (one second of burst; a larger batch passes, the next waits); past it 429 rate_limited'),
          monthlyCostBudgetUsd: z.number().min(0).max(9_999_999_999).nullable().optional()
            .describe('USD per calendar month (UTC); agent runs are refused with 402 once reached; null removes the budget'),
        }),
      },
    }, async (req) => {
      const { version, ...patch } = req.body;
      return roles.updateOrganization(deps, actor(req), version, patch);
    });

    // --------------------------------------------------------------------- members
    r.get('/v1/members', {
      config: { permission: 'members:read' },
      schema: { tags: ['members'], summary: 'Members of the organization with their roles', querystring: z.strictObject(pageQuery) },
    }, async (req) => {
      const after = decodeCursor(req.query.cursor, MemberCursor);
      const rows = await members.listMembers(deps, principal(req).orgId, { afterUserId: after?.userId, limit: req.query.limit + 1 });
      return page(rows, req.query.limit, (m) => ({ userId: m.userId }));
    });

    r.get('/v1/members/:id', {
      config: { permission: 'members:read' },
      schema: { tags: ['members'], summary: 'One member by user id', params: IdParams },
    }, async (req) => members.getMember(deps, principal(req).orgId, req.params.id));

    r.put('/v1/members/:id/roles', {
      config: { permission: 'members:write' },
      schema: {
        tags: ['members'],
        summary: "Replace a member's roles (you can grant only roles whose permissions you hold)",
        params: IdParams,
        body: z.strictObject({ roles: z.array(RoleName).min(1).max(20) }),
      },
    }, async (req) => members.setMemberRoles(deps, actor(req), held(req), req.params.id, req.body.roles));

    r.delete('/v1/members/:id', {
      config: { permission: 'members:write' },
      schema: { tags: ['members'], summary: 'Remove a member; their sessions and API keys here end', params: IdParams },
    }, async (req, reply) => {
      await members.removeMember(deps, actor(req), held(req), req.params.id);
      return reply.status(204).send();
    });

    // ----------------------------------------------------------------- invitations
    r.post('/v1/invitations', {
      config: { permission: 'members:write' },
      schema: {
        tags: ['members'],
        summary: 'Invite someone by email with a role; the token is returned once',
        body: z.strictObject({
          email: Email,
          role: RoleName,
          expiresInDays: z.number().int().min(1).max(30).default(7),
        }),
      },
    }, async (req, reply) => reply.status(201).send(await members.createInvitation(deps, actor(req), held(req), req.body)));

    r.get('/v1/invitations', {
      config: { permission: 'members:read' },
      schema: {
        tags: ['members'],
        summary: 'Invitations, newest first',
        querystring: z.strictObject({ status: z.enum(['pending', 'all']).default('pending') }),
      },
    }, async (req) => ({ data: await members.listInvitations(deps, principal(req).orgId, req.query.status === 'pending') }));

    r.delete('/v1/invitations/:id', {
      config: { permission: 'members:write' },
      schema: { tags: ['members'], summary: 'Revoke a pending invitation', params: IdParams },
    }, async (req, reply) => {
      await members.revokeInvitation(deps, actor(req), req.params.id);
      return reply.status(204).send();
    });

    // ----------------------------------------------------------------------- roles
    r.get('/v1/permissions', {
      config: { permission: 'roles:read' },
      schema: { tags: ['roles'], summary: 'Every permission (resource:action) that roles and API key scopes can name' },
    }, async (req) => ({ data: await roles.listPermissions(deps, principal(req).orgId) }));

    r.get('/v1/roles', {
      config: { permission: 'roles:read' },
      schema: { tags: ['roles'], summary: 'Built-in and custom roles with their own permissions' },
    }, async (req) => ({ data: await roles.listRoles(deps, principal(req).orgId) }));

    r.get('/v1/roles/:id', {
      config: { permission: 'roles:read' },
      schema: { tags: ['roles'], summary: 'One role', params: IdParams },
    }, async (req) => roles.getRole(deps, principal(req).orgId, req.params.id));

    r.post('/v1/roles', {
      config: { permission: 'roles:write' },
      schema: {
        tags: ['roles'],
        summary: 'Create a custom role; it inherits every permission of its parent',
        body: z.strictObject({
          name: RoleName,
          description: z.string().max(1000).optional(),
          parent: RoleName.optional(),
          permissions: z.array(PermissionName).max(200).default([]),
        }),
      },
    }, async (req, reply) => reply.status(201).send(await roles.createRole(deps, actor(req), held(req), req.body)));

    r.patch('/v1/roles/:id', {
      config: { permission: 'roles:write' },
      schema: {
        tags: ['roles'],
        summary: 'Change a custom role; send the version you read',
        params: IdParams,
        body: z.strictObject({
          version: z.number().int().min(1),
          description: z.string().max(1000).nullable().optional(),
          parent: RoleName.nullable().optional(),
          permissions: z.array(PermissionName).max(200).optional(),
        }),
      },
    }, async (req) => roles.updateRole(deps, actor(req), held(req), req.params.id, req.body));

    r.delete('/v1/roles/:id', {
      config: { permission: 'roles:write' },
      schema: { tags: ['roles'], summary: 'Delete a custom role; members lose it', params: IdParams },
    }, async (req, reply) => {
      await roles.deleteRole(deps, actor(req), req.params.id);
      return reply.status(204).send();
    });

  };
}
