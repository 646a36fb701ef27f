import type { Sql } from '../../db/index.js';
import type { CampaignIdea, ChannelPlan } from '../plan-document.js';

export type TemplateIdea = Omit<CampaignIdea, 'id'>;
export type TemplateChannel = Omit<ChannelPlan, 'id'>;

/** A reusable campaign (seed 001 campaign_templates), as the API shows it. */
export interface TemplateRow {
  id: string;
  name: string;
  description: string | null;
  theme: string;
  ideas: TemplateIdea[];
  channelMix: TemplateChannel[];
  tags: string[];
  createdBy: string | null;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface TemplateFields {
  name: string;
  description: string | null;
  theme: string;
  ideas: TemplateIdea[];
  channelMix: TemplateChannel[];
  tags: string[];
}

const COLUMNS = `id, name, description, theme, ideas, channel_mix AS "channelMix", tags, created_by AS "createdBy", version,
  created_at AS "createdAt", updated_at AS "updatedAt"`;

/** createdAt is written at millisecond precision, so a (createdAt, id) cursor read back from JSON is exact. */
export async function insertTemplate(sql: Sql, orgId: string, id: string, userId: string | null, f: TemplateFields, at: Date): Promise<TemplateRow> {
  const r = await sql.query<TemplateRow>(
    `INSERT INTO campaign_templates (id, org_id, name, description, theme, ideas, channel_mix, tags, created_by, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8::text[], $9, $10, $10) RETURNING ${COLUMNS}`,
    [id, orgId, f.name, f.description, f.theme, JSON.stringify(f.ideas), JSON.stringify(f.channelMix), f.tags, userId, at.toISOString()],
  );
  return r.rows[0]!;
}

export async function getTemplate(sql: Sql, orgId: string, id: string, lock = false): Promise<TemplateRow | undefined> {
  const r = await sql.query<TemplateRow>(
    `SELECT ${COLUMNS} FROM campaign_templates WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL${lock ? ' FOR UPDATE' : ''}`,
    [orgId, id],
  );
  return r.rows[0];
}

export async function updateTemplate(sql: Sql, orgId: string, id: string, f: TemplateFields, version: number, at: Date): Promise<TemplateRow> {
  const r = await sql.query<TemplateRow>(
    `UPDATE campaign_templates SET name = $3, description = $4, theme = $5, ideas = $6::jsonb, channel_mix = $7::jsonb,
       tags = $8::text[], version = $9, updated_at = $10
     WHERE org_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
    [orgId, id, f.name, f.description, f.theme, JSON.stringify(f.ideas), JSON.stringify(f.channelMix), f.tags, version, at.toISOString()],
  );
  return r.rows[0]!;
}

export async function softDeleteTemplate(sql: Sql, orgId: string, id: string, at: Date): Promise<void> {
  await sql.query(`UPDATE campaign_templates SET deleted_at = $3, version = version + 1, updated_at = $3 WHERE org_id = $1 AND id = $2`, [orgId, id, at.toISOString()]);
}

export interface TemplateFilter {
  tag?: string | undefined;
  /** names starting with this, compared case-insensitively */
  q?: string | undefined;
  before?: { createdAt: string; id: string } | undefined;
  limit: number;
}

const likePrefix = (s: string) => `${s.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** Newest first along idx_campaign_templates_created. */
export async function listTemplates(sql: Sql, orgId: string, f: TemplateFilter): Promise<TemplateRow[]> {
  const r = await sql.query<TemplateRow>(
    `SELECT ${COLUMNS} FROM campaign_templates
     WHERE org_id = $1 AND deleted_at IS NULL
       AND ($2::text IS NULL OR tags @> ARRAY[$2::text])
       AND ($3::text IS NULL OR lower(name) LIKE lower($3))
       AND ($4::timestamptz IS NULL OR (created_at, id) < ($4::timestamptz, $5::uuid))
     ORDER BY created_at DESC, id DESC LIMIT $6`,
    [orgId, f.tag ?? null, f.q === undefined ? null : likePrefix(f.q), f.before?.createdAt ?? null, f.before?.id ?? null, f.limit],
  );
  return r.rows;
}
