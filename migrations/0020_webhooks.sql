-- 0020: webhooks (issue 14). Seed 002 webhooks / webhook_deliveries, sent as
-- Standard Webhooks (https://www.standardwebhooks.com), and the event outbox
-- that feeds them (src/events).
--
-- How an event travels: the module that made a change calls emitEvent in the
-- same transaction. It looks up the organization's enabled endpoints whose
-- subscription matches the type (idx_webhooks_enabled); none → nothing is
-- written. Otherwise one webhook_events row (its id is the `webhook-id` every
-- attempt of every endpoint sends) and one job per endpoint on the job queue
-- (background_jobs, transactional: the queue is the outbox). A worker sends
-- the attempt, records it in webhook_deliveries, and enqueues the next attempt
-- per the retry schedule, all in one transaction.

-- ------------------------------------------------------------------ webhooks
CREATE TABLE webhooks (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  url text NOT NULL CHECK (length(url) <= 2048 AND url ~ '^https?://'),
  description varchar(500),
  -- The signing secret, sealed (AES-256-GCM under the secret-box key, as the
  -- secrets store does): whsec_ + base64 of the random bytes, shown once.
  secret varchar(255) NOT NULL,
  -- After a rotation the previous secret signs too until it expires (24 h).
  previous_secret varchar(255),
  previous_secret_expires_at timestamptz,
  CONSTRAINT webhooks_previous_secret CHECK ((previous_secret IS NULL) = (previous_secret_expires_at IS NULL)),
  -- Event types or patterns: 'execution.completed', 'execution.*', '*'.
  events text[] NOT NULL CHECK (cardinality(events) BETWEEN 1 AND 50),
  is_active boolean NOT NULL DEFAULT true,
  -- why an endpoint is off: manual (PATCH), gone (it answered 410), failing (5 days of failures)
  disabled_reason varchar(20) CHECK (disabled_reason IN ('manual', 'gone', 'failing')),
  CONSTRAINT webhooks_disabled_reason CHECK (is_active = (disabled_reason IS NULL)),
  -- Seed 002 delivery stats (attempts, not events).
  total_deliveries integer NOT NULL DEFAULT 0,
  successful_deliveries integer NOT NULL DEFAULT 0,
  failed_deliveries integer NOT NULL DEFAULT 0,
  last_delivery_at timestamptz,
  last_delivery_status varchar(50),
  -- The first failed attempt since the last success: failing for 5 days disables the endpoint.
  failing_since timestamptz,
  created_by_user_id uuid REFERENCES users (id) ON DELETE SET NULL,
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz
);
-- seed 002 idx_webhooks_organization_id, led by org_id and ordered for the list
CREATE INDEX idx_webhooks_organization_id ON webhooks (org_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;
-- what emitEvent reads on every change: the org's enabled endpoints (few rows)
CREATE INDEX idx_webhooks_enabled ON webhooks (org_id) WHERE is_active AND deleted_at IS NULL;

-- -------------------------------------------------------------------- events
-- One row per event that at least one endpoint subscribed to when it
-- happened: what every attempt (and a manual redelivery) sends. Partitioned
-- by month with the deliveries' retention. id is UUIDv7, so its time names
-- the partition (lookups by id prune to one).
CREATE TABLE webhook_events (
  id uuid NOT NULL,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  event_type varchar(100) NOT NULL,
  data jsonb NOT NULL CHECK (jsonb_typeof(data) = 'object'),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
CREATE INDEX idx_webhook_events_org ON webhook_events (org_id, created_at DESC, id DESC);

-- Events that happen at most once per key (quota.exceeded: once per org, limit and month).
CREATE TABLE webhook_event_keys (
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  dedupe_key varchar(200) NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, dedupe_key)
);

-- ---------------------------------------------------------------- deliveries
-- Seed 002 webhook_deliveries: one row per attempt, written after it.
CREATE TABLE webhook_deliveries (
  id uuid NOT NULL,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  webhook_id uuid NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
  event_id uuid NOT NULL,
  event_type varchar(100) NOT NULL,
  -- the body as sent: {type, timestamp, data}
  payload jsonb NOT NULL,
  status varchar(50) NOT NULL CHECK (status IN ('pending', 'success', 'failed')),
  response_status_code integer,
  -- the first 1 KiB of the answer
  response_body text CHECK (length(response_body) <= 1024),
  error text CHECK (length(error) <= 1000),
  duration_ms integer CHECK (duration_ms >= 0),
  attempt_number integer NOT NULL DEFAULT 1 CHECK (attempt_number >= 1),
  -- auto: the event's own delivery; manual: a redelivery asked for; test: POST /v1/webhooks/{id}/test
  trigger varchar(20) NOT NULL DEFAULT 'auto' CHECK (trigger IN ('auto', 'manual', 'test')),
  -- when the next attempt is due, for a failed attempt that will be retried
  next_retry_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  delivered_at timestamptz,
  PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
-- seed 002 idx_webhook_deliveries_webhook_id / _status, each led by org_id
CREATE INDEX idx_webhook_deliveries_webhook_id ON webhook_deliveries (org_id, webhook_id, created_at DESC, id DESC);
CREATE INDEX idx_webhook_deliveries_status ON webhook_deliveries (org_id, status, created_at DESC);
CREATE INDEX idx_webhook_deliveries_event ON webhook_deliveries (org_id, event_id);

-- ---------------------------------------------------------------- permissions
INSERT INTO permissions (resource, action, description) VALUES
  ('webhooks', 'read', 'Read webhook endpoints (never their secrets), their deliveries and the event catalogue'),
  ('webhooks', 'write', 'Create, change, delete and test webhook endpoints, rotate their secrets, redeliver events');
-- admin (and owner, through inheritance): an endpoint sends the organization's events out.
INSERT INTO role_permissions (role_id, permission_id)
SELECT r.id, p.id FROM roles r JOIN permissions p ON
  r.name = 'admin' AND (p.resource, p.action) IN (('webhooks', 'read'), ('webhooks', 'write'))
WHERE r.org_id IS NULL;

-- ---------------------------------------------------------- privileges + RLS
GRANT SELECT, INSERT, UPDATE ON webhooks TO agentbase_app;
GRANT SELECT, INSERT ON webhook_events, webhook_deliveries, webhook_event_keys TO agentbase_app;
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['webhooks', 'webhook_events', 'webhook_event_keys', 'webhook_deliveries'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I TO agentbase_app USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org())', t);
  END LOOP;
END $$;

-- seed 002: webhook_deliveries monthly, 3 months' retention (src/db/partitions.ts)
SELECT ensure_monthly_partitions('webhook_events', now() - interval '1 month', 4);
SELECT ensure_monthly_partitions('webhook_deliveries', now() - interval '1 month', 4);
