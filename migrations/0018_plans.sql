-- 0018: plans and two of the seed domains on them (issue 13). Seed 000
-- travel_plans / plan_shares / update_plan_cost_summary /
-- v_active_plans_with_costs; seed 001 campaigns, campaign_ideas,
-- channel_plans, services, market_signals, campaign_templates.
--
-- A plan is one row of `plans` (what every kind has) plus its kind's details:
-- travel_plans for kind 'travel', campaigns (with campaign_ideas and
-- channel_plans) for kind 'campaign'. Together they are the plan's current
-- state. Every change also writes an immutable plan_versions row holding the
-- whole plan as one JSON document, so history is never rewritten: seed 000's
-- version/parent_plan_id chain of copied rows becomes (plan_id, version) rows,
-- and restoring version n writes its document back as a new version.
--
-- Costs: seed 000 keeps total_cost_usd/token_usage_total on the plan, updated
-- by a per-row trigger on every cost_tracking insert. That trigger sits on the
-- ingest hot path and serialises every span of a plan on the plan's row. Here
-- the ledger's statement-level roll-up (cost_daily, dimension 'plan', 0007 and
-- 0014) already sums each batch once; a plan's cost is read from it, and
-- v_active_plans_with_costs does the same for lists.

-- ---------------------------------------------------------------------- plans
CREATE TABLE plans (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  user_id uuid NOT NULL REFERENCES users (id),
  kind varchar(20) NOT NULL CHECK (kind IN ('travel', 'campaign', 'generic')),
  title varchar(255) NOT NULL CHECK (length(btrim(title)) > 0),
  description text CHECK (length(description) <= 20000),
  status varchar(30) NOT NULL DEFAULT 'draft'
    CHECK (status IN ('draft', 'processing', 'agent_processing', 'completed', 'error', 'cancelled', 'archived')),
  completion_percentage smallint NOT NULL DEFAULT 0 CHECK (completion_percentage BETWEEN 0 AND 100),
  user_rating smallint CHECK (user_rating BETWEEN 1 AND 5),
  user_feedback text CHECK (length(user_feedback) <= 20000),
  -- Seed 000 plan_data: the content of a generic plan (and anything else an application keeps with a plan).
  plan_data jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(plan_data) = 'object'),
  is_template boolean NOT NULL DEFAULT false,
  is_public boolean NOT NULL DEFAULT false,
  is_active boolean NOT NULL DEFAULT true,
  -- the template this plan was instantiated from (a plan, or a campaign template)
  template_plan_id uuid REFERENCES plans (id),
  -- the current version: the highest plan_versions.version of this plan
  version integer NOT NULL DEFAULT 1 CHECK (version >= 1),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz,
  archived_at timestamptz,
  deleted_at timestamptz
);
-- Seed 000's travel_plans indexes, each led by org_id (RLS filters by it first).
CREATE INDEX idx_plans_org_created ON plans (org_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX idx_plans_user_id ON plans (org_id, user_id, created_at DESC) WHERE deleted_at IS NULL;
CREATE INDEX idx_plans_status ON plans (org_id, status);
CREATE INDEX idx_plans_kind ON plans (org_id, kind, created_at DESC) WHERE deleted_at IS NULL;
CREATE INDEX idx_plans_active ON plans (org_id, is_active) WHERE is_active = true;
CREATE INDEX idx_plans_templates ON plans (org_id, kind) WHERE is_template AND deleted_at IS NULL;
CREATE INDEX idx_plans_created_at ON plans (org_id, created_at);

-- Every version of every plan, immutable: the app role may insert and read, never update or delete.
CREATE TABLE plan_versions (
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  plan_id uuid NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
  version integer NOT NULL CHECK (version >= 1),
  -- the whole plan at this version: {plan, travel?, campaign?} (see src/plans/plan-document.ts)
  document jsonb NOT NULL CHECK (jsonb_typeof(document) = 'object'),
  -- what changed, in words (the API's own summary of the change)
  summary text NOT NULL,
  -- the version whose document this one restored
  restored_from integer,
  created_by_user_id uuid REFERENCES users (id) ON DELETE SET NULL,
  created_by_api_key_id uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, plan_id, version)
);
-- seed 000 idx_travel_plans_version (parent_plan_id, version) is this table's primary key

-- --------------------------------------------------------------- travel plans
CREATE TABLE travel_plans (
  plan_id uuid PRIMARY KEY REFERENCES plans (id) ON DELETE CASCADE,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  destinations jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(destinations) = 'array'),
  start_date date,
  end_date date,
  duration_days integer GENERATED ALWAYS AS (
    CASE WHEN start_date IS NOT NULL AND end_date IS NOT NULL THEN end_date - start_date ELSE NULL END
  ) STORED,
  traveler_count integer NOT NULL DEFAULT 1 CHECK (traveler_count BETWEEN 1 AND 10000),
  traveler_details jsonb NOT NULL DEFAULT '{}',
  budget_total numeric(12, 2) CHECK (budget_total >= 0),
  budget_currency char(3) NOT NULL DEFAULT 'USD' CHECK (budget_currency ~ '^[A-Z]{3}$'),
  budget_breakdown jsonb NOT NULL DEFAULT '{}',
  preferences jsonb NOT NULL DEFAULT '{}',
  constraints jsonb NOT NULL DEFAULT '{}',
  special_requirements jsonb NOT NULL DEFAULT '{}',
  itinerary jsonb NOT NULL DEFAULT '{}',
  agent_results jsonb NOT NULL DEFAULT '{}',
  agent_execution_summary jsonb NOT NULL DEFAULT '{}',
  CONSTRAINT travel_plans_dates CHECK (end_date IS NULL OR start_date IS NULL OR end_date >= start_date)
);
CREATE INDEX idx_travel_plans_dates ON travel_plans (org_id, start_date, end_date);
-- Seed 000's GIN indexes. Under row-level security `@>` is not leakproof, so
-- for the app role they are not index conditions (see 0016); a destination
-- filter reads the organization's travel plans through the dates index. They
-- serve the owner role (maintenance, analytics) and keep the seed's schema.
CREATE INDEX idx_travel_plans_destinations ON travel_plans USING gin (destinations);
CREATE INDEX idx_travel_plans_preferences ON travel_plans USING gin (preferences);

-- ------------------------------------------------------------------ campaigns
-- Seed 001 services: an organization's product/service catalog.
CREATE TABLE services (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  name varchar(255) NOT NULL CHECK (length(btrim(name)) > 0),
  category varchar(100) NOT NULL CHECK (length(btrim(category)) > 0),
  description text NOT NULL,
  target_audience jsonb NOT NULL DEFAULT '[]',
  key_benefits jsonb NOT NULL DEFAULT '[]',
  market_mentions integer NOT NULL DEFAULT 0 CHECK (market_mentions >= 0),
  -- seed 001 active_campaigns is counted from campaigns when read, never stored twice
  competitors jsonb NOT NULL DEFAULT '[]',
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz
);
CREATE UNIQUE INDEX idx_services_name_unique ON services (org_id, lower(name)) WHERE deleted_at IS NULL;
CREATE INDEX idx_services_name ON services (org_id, name);
CREATE INDEX idx_services_category ON services (org_id, category);

-- Seed 001 campaigns: a plan of kind 'campaign'; its name is the plan's title.
CREATE TABLE campaigns (
  plan_id uuid PRIMARY KEY REFERENCES plans (id) ON DELETE CASCADE,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  status varchar(20) NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'active', 'paused', 'completed', 'cancelled')),
  theme varchar(255) NOT NULL CHECK (length(btrim(theme)) > 0),
  start_date date NOT NULL,
  end_date date NOT NULL,
  total_budget numeric(14, 2) NOT NULL CHECK (total_budget >= 0),
  expected_roi numeric(10, 2) NOT NULL,
  metrics jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metrics) = 'object'),
  service_id uuid REFERENCES services (id),
  feedback_history jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(feedback_history) = 'array'),
  -- the campaign template it was made from
  template_id uuid,
  CONSTRAINT campaigns_dates CHECK (end_date >= start_date)
);
CREATE INDEX idx_campaigns_status ON campaigns (org_id, status);
CREATE INDEX idx_campaigns_service ON campaigns (org_id, service_id) WHERE service_id IS NOT NULL;
CREATE INDEX idx_campaigns_dates ON campaigns (org_id, start_date, end_date);

CREATE TABLE campaign_ideas (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  plan_id uuid NOT NULL REFERENCES campaigns (plan_id) ON DELETE CASCADE,
  position integer NOT NULL CHECK (position >= 0),
  theme varchar(255) NOT NULL CHECK (length(btrim(theme)) > 0),
  core_message text NOT NULL CHECK (length(btrim(core_message)) > 0),
  target_segments jsonb NOT NULL CHECK (jsonb_typeof(target_segments) = 'array'),
  competitive_angle text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idx_campaign_ideas_plan ON campaign_ideas (org_id, plan_id, position);

CREATE TABLE channel_plans (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  plan_id uuid NOT NULL REFERENCES campaigns (plan_id) ON DELETE CASCADE,
  position integer NOT NULL CHECK (position >= 0),
  channel varchar(100) NOT NULL CHECK (length(btrim(channel)) > 0),
  -- percent of the campaign's total budget
  budget_allocation numeric(5, 2) NOT NULL CHECK (budget_allocation > 0 AND budget_allocation <= 100),
  strategy text NOT NULL,
  expected_reach integer CHECK (expected_reach >= 0),
  expected_engagement real CHECK (expected_engagement >= 0),
  kpis jsonb NOT NULL DEFAULT '[]',
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idx_channel_plans_plan ON channel_plans (org_id, plan_id, position);

-- The allocations of one campaign never exceed 100 %. Checked at commit (a
-- mix is replaced row by row) after locking the campaign's row, so two
-- transactions adding channels to one campaign are checked one after the
-- other and cannot both see room for theirs. The lock is FOR NO KEY UPDATE:
-- each channel_plans insert already holds FOR KEY SHARE on that row (its
-- foreign key), which FOR UPDATE would conflict with, so two such
-- transactions would deadlock at commit instead of the second being refused.
CREATE FUNCTION channel_plans_allocation_check() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  total numeric;
BEGIN
  PERFORM 1 FROM campaigns WHERE plan_id = NEW.plan_id FOR NO KEY UPDATE;
  SELECT coalesce(sum(budget_allocation), 0) INTO total FROM channel_plans WHERE plan_id = NEW.plan_id;
  IF total > 100 THEN
    RAISE EXCEPTION 'the channel budget allocations of campaign % add up to % %%, more than 100 %%', NEW.plan_id, total
      USING ERRCODE = 'check_violation', CONSTRAINT = 'channel_plans_allocation_total';
  END IF;
  RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER channel_plans_allocation_total
  AFTER INSERT OR UPDATE OF budget_allocation, plan_id ON channel_plans
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION channel_plans_allocation_check();

-- Seed 001 market_signals, partitioned by week (seed 001 §8.3) with 90 days'
-- retention (§7.3, rounded up to whole weeks).
CREATE TABLE market_signals (
  id uuid NOT NULL,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  source varchar(255) NOT NULL CHECK (length(btrim(source)) > 0),
  content text NOT NULL CHECK (length(btrim(content)) > 0 AND length(content) <= 20000),
  observed_at timestamptz NOT NULL,
  relevance_score real NOT NULL CHECK (relevance_score >= 0 AND relevance_score <= 1),
  category varchar(100) NOT NULL CHECK (length(btrim(category)) > 0),
  impact varchar(10) NOT NULL CHECK (impact IN ('low', 'medium', 'high')),
  service_id uuid,
  metadata jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id, observed_at)
) PARTITION BY RANGE (observed_at);
CREATE INDEX idx_signals_timestamp ON market_signals (org_id, observed_at DESC, id DESC);
CREATE INDEX idx_signals_impact_time ON market_signals (org_id, impact, observed_at DESC);
CREATE INDEX idx_signals_source ON market_signals (org_id, source, observed_at DESC);
CREATE INDEX idx_signals_category ON market_signals (org_id, category, observed_at DESC);

-- Seed 001 campaign_templates: reusable ideas and channel mix, instantiated into campaigns.
CREATE TABLE campaign_templates (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  name varchar(255) NOT NULL CHECK (length(btrim(name)) > 0),
  description text,
  theme varchar(255) NOT NULL CHECK (length(btrim(theme)) > 0),
  ideas jsonb NOT NULL CHECK (jsonb_typeof(ideas) = 'array'),
  channel_mix jsonb NOT NULL CHECK (jsonb_typeof(channel_mix) = 'array'),
  tags text[] NOT NULL DEFAULT '{}' CHECK (cardinality(tags) <= 20),
  created_by uuid REFERENCES users (id) ON DELETE SET NULL,
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz
);
CREATE INDEX idx_campaign_templates_name ON campaign_templates (org_id, name) WHERE deleted_at IS NULL;
CREATE INDEX idx_campaign_templates_created ON campaign_templates (org_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;
ALTER TABLE campaigns ADD CONSTRAINT campaigns_template_fk FOREIGN KEY (template_id) REFERENCES campaign_templates (id);

-- -------------------------------------------------------- links from telemetry
-- Seed 001: a decision names the campaign (plan) it was about.
ALTER TABLE agent_decisions ADD COLUMN plan_id uuid;
CREATE INDEX idx_agent_decisions_plan ON agent_decisions (org_id, plan_id, decided_at DESC) WHERE plan_id IS NOT NULL;
-- seed 000 idx_agent_executions_plan_id: a plan's executions
CREATE INDEX idx_executions_plan ON executions (org_id, plan_id, created_at DESC) WHERE plan_id IS NOT NULL;

-- -------------------------------------------------------------- plan shares
-- Seed 000 plan_shares. The token is shown once; only its SHA-256 is kept
-- (share_token_hash), so a leaked table opens nothing. A password is an
-- argon2id hash. Opening a share happens before any tenant is known, through
-- plan_share_find() below.
CREATE TABLE plan_shares (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  plan_id uuid NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
  shared_by_user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  shared_with_user_id uuid REFERENCES users (id) ON DELETE CASCADE,
  share_token_hash char(64) NOT NULL UNIQUE,
  -- the token's first characters, to tell shares apart in lists
  share_token_prefix varchar(16) NOT NULL,
  share_type varchar(20) NOT NULL CHECK (share_type IN ('public', 'private', 'link')),
  permissions text[] NOT NULL DEFAULT '{read}'
    CHECK (cardinality(permissions) BETWEEN 1 AND 3 AND permissions <@ ARRAY['read', 'comment', 'edit']::text[]),
  is_public boolean NOT NULL DEFAULT false,
  public_url_slug varchar(100) UNIQUE CHECK (public_url_slug ~ '^[a-z0-9](?:[a-z0-9-]{1,98}[a-z0-9])$'),
  password_hash text,
  -- the version shown; none: the plan's current version
  plan_version integer CHECK (plan_version >= 1),
  access_count integer NOT NULL DEFAULT 0 CHECK (access_count >= 0),
  max_access_count integer CHECK (max_access_count >= 1),
  -- wrong passwords in the current window (rate limit per link)
  failed_password_attempts integer NOT NULL DEFAULT 0,
  failed_password_window_start timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz,
  last_accessed_at timestamptz,
  is_active boolean NOT NULL DEFAULT true,
  revoked_at timestamptz,
  CONSTRAINT plan_shares_private_user CHECK ((share_type = 'private') = (shared_with_user_id IS NOT NULL)),
  CONSTRAINT plan_shares_access_limit CHECK (max_access_count IS NULL OR access_count <= max_access_count)
);
CREATE INDEX idx_plan_shares_plan_id ON plan_shares (org_id, plan_id, created_at DESC);
CREATE INDEX idx_plan_shares_public ON plan_shares (org_id, is_public) WHERE is_public = true;
CREATE INDEX idx_plan_shares_active ON plan_shares (org_id, is_active) WHERE is_active = true;
-- seed 000 idx_plan_shares_token is the UNIQUE constraint's index on share_token_hash

-- Wrong passwords per link and client address in the current window (the
-- second rate limit on password guessing; rows go with their share).
CREATE TABLE plan_share_failures (
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  share_id uuid NOT NULL REFERENCES plan_shares (id) ON DELETE CASCADE,
  client_addr inet NOT NULL,
  window_start timestamptz NOT NULL,
  failures integer NOT NULL DEFAULT 0,
  PRIMARY KEY (org_id, share_id, client_addr)
);

-- Comments left on a plan, by a member or through a share link with the
-- 'comment' permission (then author_name is what the visitor gave).
CREATE TABLE plan_comments (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  plan_id uuid NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
  plan_version integer NOT NULL,
  share_id uuid REFERENCES plan_shares (id) ON DELETE SET NULL,
  user_id uuid REFERENCES users (id) ON DELETE SET NULL,
  author_name varchar(100),
  body text NOT NULL CHECK (length(btrim(body)) > 0 AND length(body) <= 10000),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idx_plan_comments_plan ON plan_comments (org_id, plan_id, created_at DESC, id DESC);

-- The share a token hash or a public slug names, with its organization, for
-- the no-login open path (no tenant is known yet). Returns what the open
-- needs to decide, never the password hash of another share.
CREATE FUNCTION plan_share_find(p_token_hash text, p_slug text)
RETURNS TABLE (id uuid, org_id uuid, plan_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT s.id, s.org_id, s.plan_id FROM plan_shares s
  WHERE (p_token_hash IS NOT NULL AND s.share_token_hash = p_token_hash)
     OR (p_slug IS NOT NULL AND s.public_url_slug = p_slug)
  LIMIT 1
$$;
CREATE POLICY share_find ON plan_shares FOR SELECT TO agentbase_auth USING (true);
GRANT SELECT (id, org_id, plan_id, share_token_hash, public_url_slug) ON plan_shares TO agentbase_auth;
ALTER FUNCTION plan_share_find(text, text) OWNER TO agentbase_auth;
REVOKE ALL ON FUNCTION plan_share_find(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION plan_share_find(text, text) TO agentbase_app;

-- Seed 000 v_active_plans_with_costs: cost and tokens from the ledger's daily
-- roll-up (dimension 'plan'), so it agrees with the ledger to the cent.
-- security_invoker: the caller's row-level security applies to every table read.
CREATE VIEW v_active_plans_with_costs WITH (security_invoker = true) AS
SELECT p.*,
  coalesce(c.cost_usd, 0) AS total_cost_calculated,
  coalesce(c.total_tokens, 0) AS total_tokens_calculated,
  coalesce(c.spans, 0) AS agent_execution_count
FROM plans p
LEFT JOIN LATERAL (
  SELECT sum(d.cost_usd) AS cost_usd, sum(d.total_tokens) AS total_tokens, sum(d.spans) AS spans
  FROM cost_daily d WHERE d.org_id = p.org_id AND d.dimension = 'plan' AND d.key = p.id::text
) c ON true
WHERE p.is_active AND p.deleted_at IS NULL;

-- ---------------------------------------------------------------- permissions
INSERT INTO permissions (resource, action, description) VALUES
  ('plans', 'read', 'Read plans, their versions, diffs, costs, shares and the campaign catalog'),
  ('plans', 'write', 'Create and change plans, restore versions, create and revoke share links, record market signals');
INSERT INTO role_permissions (role_id, permission_id)
SELECT r.id, p.id FROM roles r JOIN permissions p ON
  (r.name = 'viewer' AND (p.resource, p.action) IN (('plans', 'read')))
  OR (r.name = 'member' AND (p.resource, p.action) IN (('plans', 'write')))
WHERE r.org_id IS NULL;

-- ---------------------------------------------------------- privileges + RLS
GRANT SELECT, INSERT, UPDATE ON plans, travel_plans, services, campaigns, campaign_templates, plan_shares TO agentbase_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON campaign_ideas, channel_plans, market_signals, plan_share_failures TO agentbase_app;
GRANT SELECT, INSERT ON plan_comments TO agentbase_app;
GRANT SELECT, INSERT ON plan_versions TO agentbase_app;
GRANT SELECT ON v_active_plans_with_costs TO agentbase_app;
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['plans', 'plan_versions', 'travel_plans', 'services', 'campaigns', 'campaign_ideas',
                           'channel_plans', 'market_signals', 'campaign_templates', 'plan_shares',
                           'plan_share_failures', 'plan_comments'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I TO agentbase_app USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org())', t);
  END LOOP;
END $$;

SELECT ensure_weekly_partitions('market_signals', now() - interval '13 weeks', 18);
