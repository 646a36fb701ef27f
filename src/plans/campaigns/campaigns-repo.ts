import type { Sql } from '../../db/index.js';
import type { CAMPAIGN_STATUSES } from '../plan-document.js';
import { cols, type PlanRow } from '../plans-repo.js';

/** A campaign in a list: its plan row and its campaign columns, with how many ideas and channels it has. */
export interface CampaignSummary {
  status: (typeof CAMPAIGN_STATUSES)[number];
  theme: string;
  startDate: string;
  endDate: string;
  totalBudget: number;
  expectedRoi: number;
  metrics: Record<string, unknown>;
  serviceId: string | null;
  templateId: string | null;
  ideaCount: number;
  channelCount: number;
  /** the channel plans' budget allocations, summed (percent) */
  allocatedPercent: number;
}
export type CampaignListRow = PlanRow & { campaign: CampaignSummary };

export interface CampaignFilter {
  status?: string | undefined;
  serviceId?: string | undefined;
  /** campaigns running on this day (start_date <= day <= end_date) */
  activeOn?: string | undefined;
  before?: { createdAt: string; id: string } | undefined;
  limit: number;
}

type Flat = PlanRow & { [K in keyof CampaignSummary as `c_${K}`]: CampaignSummary[K] };

/** Newest first along idx_plans_kind (kind 'campaign'), joined with campaigns on its primary key. */
export async function listCampaigns(sql: Sql, orgId: string, f: CampaignFilter): Promise<CampaignListRow[]> {
  const r = await sql.query<Flat>(
    `SELECT ${cols('p.')}, c.status AS c_status, c.theme AS c_theme, to_char(c.start_date, 'YYYY-MM-DD') AS "c_startDate",
       to_char(c.end_date, 'YYYY-MM-DD') AS "c_endDate", c.total_budget::float8 AS "c_totalBudget",
       c.expected_roi::float8 AS "c_expectedRoi", c.metrics AS c_metrics, c.service_id AS "c_serviceId",
       c.template_id AS "c_templateId",
       (SELECT count(*)::int FROM campaign_ideas i WHERE i.org_id = c.org_id AND i.plan_id = c.plan_id) AS "c_ideaCount",
       ch.n AS "c_channelCount", ch.total AS "c_allocatedPercent"
     FROM plans p
     JOIN campaigns c ON c.plan_id = p.id AND c.org_id = p.org_id
     LEFT JOIN LATERAL (
       SELECT count(*)::int AS n, coalesce(sum(budget_allocation), 0)::float8 AS total
       FROM channel_plans x WHERE x.org_id = c.org_id AND x.plan_id = c.plan_id
     ) ch ON true
     WHERE p.org_id = $1 AND p.kind = 'campaign' AND p.deleted_at IS NULL
       AND ($2::text IS NULL OR c.status = $2) AND ($3::uuid IS NULL OR c.service_id = $3)
       AND ($4::date IS NULL OR (c.start_date <= $4::date AND c.end_date >= $4::date))
       AND ($5::timestamptz IS NULL OR (p.created_at, p.id) < ($5::timestamptz, $6::uuid))
     ORDER BY p.created_at DESC, p.id DESC LIMIT $7`,
    [orgId, f.status ?? null, f.serviceId ?? null, f.activeOn ?? null, f.before?.createdAt ?? null, f.before?.id ?? null, f.limit],
  );
  return r.rows.map((row) => {
    const plan: Record<string, unknown> = {};
    const campaign: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(row)) {
      if (k.startsWith('c_')) campaign[k.slice(2)] = v;
      else plan[k] = v;
    }
    return { ...(plan as unknown as PlanRow), campaign: campaign as unknown as CampaignSummary };
  });
}

/** The plan's kind, if it is a live plan of the organization. */
export async function planKind(sql: Sql, orgId: string, id: string): Promise<string | undefined> {
  const r = await sql.query<{ kind: string }>(`SELECT kind FROM plans WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL`, [orgId, id]);
  return r.rows[0]?.kind;
}
