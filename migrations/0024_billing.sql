-- 0024: billing (issue 14). Seed 002's subscriptions, usage_records and
-- invoices, reconciled with the rest of the schema; plus invoice_lines and the
-- billing:read / billing:write permissions.
--
-- Plans (free, pro, enterprise) and their prices are code constants
-- (src/platform/billing/plans.ts), not a table: each invoice line copies the
-- unit price it used, so history never reads the catalogue; the CHECKs below
-- keep plan names valid. Changing a plan writes the plan's limits into
-- seed 002's organizations.max_* columns in the same transaction, so the
-- existing quota checks (0002, 0013) enforce the plan.
--
-- Seed → here:
-- - organization_id → org_id (first in every index), RLS as every tenant table.
-- - stripe_subscription_id / stripe_customer_id / stripe_invoice_id → the
--   provider-neutral payment_provider + provider_*_id (no Stripe here; see the
--   PaymentProvider interface). Their UNIQUEs lead with org_id (Citus-ready).
-- - status 'cancelled' → 'canceled', cancelled_at → canceled_at (one spelling,
--   the one the API uses); seed's cancel_at is kept, with cancel_at_period_end.
-- - plan values: free | pro | enterprise (seed listed starter and team too,
--   which this product does not sell).
-- - money: seed's DECIMAL(10,2) dollars become bigint cents (exact integer
--   arithmetic, no rounding drift); usage cost keeps the ledger's numeric.
-- - usage_records: one row per organization and calendar month (seed's
--   unique_usage_period), one column per metric, so (org, period, metric) is
--   unique by construction. executions_count = runs the service executed,
--   tokens_used = input + output tokens (plus their split), storage_bytes an
--   estimate; ingested_spans, seats and llm_cost_usd are added. Seed's
--   api_calls_count is left out: nothing counts API requests per organization.
--   Seed's execution/token/storage/total_cost_usd charge breakdown lives on the
--   invoice's lines (what each metered item was charged), not here.
-- - invoices.invoice_pdf_url: the document is rendered from the rows on demand
--   (GET /v1/billing/invoices/{id}.json | .html), so no URL is stored.
-- - idx_*_organization_id and idx_usage_records_period are covered by the
--   org-led unique constraints.

-- ------------------------------------------------------------- subscriptions
-- One current subscription per organization (the partial unique index);
-- canceled ones stay as history. Periods are calendar months (UTC), the
-- months usage_counters and cost_daily count in; a subscription's first
-- period starts when it is created and ends at the next month's start.
CREATE TABLE subscriptions (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  payment_provider varchar(30) NOT NULL,
  provider_customer_id varchar(255) NOT NULL,
  provider_subscription_id varchar(255),
  plan varchar(50) NOT NULL CHECK (plan IN ('free', 'pro', 'enterprise')),
  status varchar(50) NOT NULL CHECK (status IN ('trialing', 'active', 'past_due', 'canceled')),
  current_period_start timestamptz NOT NULL,
  current_period_end timestamptz NOT NULL,
  trial_start timestamptz,
  trial_end timestamptz,
  cancel_at_period_end boolean NOT NULL DEFAULT false,
  cancel_at timestamptz,
  canceled_at timestamptz,
  cancellation_reason text CHECK (length(cancellation_reason) <= 1000),
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (current_period_end > current_period_start),
  CHECK ((trial_start IS NULL) = (trial_end IS NULL) AND (trial_end IS NULL OR trial_end > trial_start)),
  CHECK (status <> 'trialing' OR trial_end IS NOT NULL),
  CHECK ((status = 'canceled') = (canceled_at IS NOT NULL)),
  CHECK (NOT cancel_at_period_end OR cancel_at IS NOT NULL),
  CONSTRAINT subscriptions_provider_id UNIQUE (org_id, payment_provider, provider_subscription_id),
  CONSTRAINT subscriptions_org_id_id UNIQUE (org_id, id)
);
CREATE TRIGGER subscriptions_touch BEFORE UPDATE ON subscriptions FOR EACH ROW EXECUTE FUNCTION touch_versioned();
-- seed idx_subscriptions_organization_id: at most one current subscription per organization
CREATE UNIQUE INDEX idx_subscriptions_current ON subscriptions (org_id) WHERE status <> 'canceled';
-- seed idx_subscriptions_status
CREATE INDEX idx_subscriptions_status ON subscriptions (org_id, status);
-- history, newest first
CREATE INDEX idx_subscriptions_org_created ON subscriptions (org_id, created_at DESC, id DESC);
-- Maintenance finds subscriptions due (period over, trial over) across
-- tenants through billing_due_organization_ids(); these serve that scan.
CREATE INDEX idx_subscriptions_period_due ON subscriptions (current_period_end) WHERE status <> 'canceled';
CREATE INDEX idx_subscriptions_trial_due ON subscriptions (trial_end) WHERE status = 'trialing';

-- ------------------------------------------------------------- usage_records
-- Recomputed from the sources (usage_counters, cost_daily, memberships, the
-- rows' sizes) by an upsert: recording a month again rewrites its row, never
-- adds one. storage_bytes and seats are point-in-time figures, measured when
-- the month is first recorded and kept afterwards.
CREATE TABLE usage_records (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  period_start date NOT NULL CHECK (extract(day FROM period_start) = 1),
  period_end date NOT NULL,
  executions_count bigint NOT NULL DEFAULT 0 CHECK (executions_count >= 0),
  ingested_spans bigint NOT NULL DEFAULT 0 CHECK (ingested_spans >= 0),
  input_tokens bigint NOT NULL DEFAULT 0 CHECK (input_tokens >= 0),
  output_tokens bigint NOT NULL DEFAULT 0 CHECK (output_tokens >= 0),
  tokens_used bigint NOT NULL DEFAULT 0 CHECK (tokens_used >= 0),
  llm_cost_usd numeric(18, 6) NOT NULL DEFAULT 0,
  storage_bytes bigint NOT NULL DEFAULT 0 CHECK (storage_bytes >= 0),
  seats integer NOT NULL DEFAULT 0 CHECK (seats >= 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (period_end = (period_start + interval '1 month')::date),
  CONSTRAINT unique_usage_period UNIQUE (org_id, period_start, period_end)
);
CREATE TRIGGER usage_records_touch BEFORE UPDATE ON usage_records FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

-- ------------------------------------------------------------------ invoices
-- One invoice per organization and month (invoices_one_per_period: the
-- period-end job run twice makes one). draft → open (finalized: numbered,
-- due) → paid | void; uncollectible is seed 002's and reserved.
CREATE TABLE invoices (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  subscription_id uuid,
  payment_provider varchar(30) NOT NULL,
  provider_invoice_id varchar(255),
  invoice_number varchar(100) NOT NULL,
  status varchar(50) NOT NULL CHECK (status IN ('draft', 'open', 'paid', 'void', 'uncollectible')),
  plan varchar(50) NOT NULL CHECK (plan IN ('free', 'pro', 'enterprise')),
  -- the customer as it was named when the invoice was made
  customer_name varchar(255) NOT NULL,
  period_start date NOT NULL CHECK (extract(day FROM period_start) = 1),
  period_end date NOT NULL,
  currency char(3) NOT NULL DEFAULT 'USD' CHECK (currency = 'USD'),
  subtotal_cents bigint NOT NULL CHECK (subtotal_cents >= 0),
  tax_rate_bps integer NOT NULL DEFAULT 0 CHECK (tax_rate_bps BETWEEN 0 AND 10000),
  tax_cents bigint NOT NULL DEFAULT 0 CHECK (tax_cents >= 0),
  total_cents bigint NOT NULL,
  amount_paid_cents bigint NOT NULL DEFAULT 0 CHECK (amount_paid_cents >= 0),
  amount_due_cents bigint NOT NULL CHECK (amount_due_cents >= 0),
  invoice_date date NOT NULL,
  due_date date,
  finalized_at timestamptz,
  paid_at timestamptz,
  voided_at timestamptz,
  payment_reference varchar(255),
  last_payment_error text CHECK (length(last_payment_error) <= 1000),
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (total_cents = subtotal_cents + tax_cents),
  CHECK (status = 'void' OR amount_due_cents = total_cents - amount_paid_cents),
  CHECK ((status = 'paid') = (paid_at IS NOT NULL)),
  CHECK ((status = 'void') = (voided_at IS NOT NULL)),
  CHECK ((status = 'draft') = (finalized_at IS NULL)),
  CHECK (period_end = (period_start + interval '1 month')::date),
  FOREIGN KEY (org_id, subscription_id) REFERENCES subscriptions (org_id, id),
  CONSTRAINT invoices_one_per_period UNIQUE (org_id, period_start),
  CONSTRAINT invoices_number UNIQUE (org_id, invoice_number),
  CONSTRAINT invoices_provider_id UNIQUE (org_id, payment_provider, provider_invoice_id),
  CONSTRAINT invoices_org_id_id UNIQUE (org_id, id)
);
CREATE TRIGGER invoices_touch BEFORE UPDATE ON invoices FOR EACH ROW EXECUTE FUNCTION touch_versioned();
-- seed idx_invoices_status
CREATE INDEX idx_invoices_status ON invoices (org_id, status);
-- GET /v1/billing/invoices: newest period first, keyset (period_start, id)
CREATE INDEX idx_invoices_org_period ON invoices (org_id, period_start DESC, id DESC);

-- One line per charged item: amount_cents = round half up of
-- billable_quantity × unit_price_cents / unit_size (the base price is a line
-- whose quantity is the days billed and unit_size the days of the month).
CREATE TABLE invoice_lines (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  invoice_id uuid NOT NULL,
  position smallint NOT NULL CHECK (position >= 1),
  item varchar(30) NOT NULL CHECK (item IN ('base', 'runs', 'ingested_spans', 'tokens', 'storage', 'seats')),
  description varchar(255) NOT NULL,
  quantity bigint NOT NULL CHECK (quantity >= 0),
  included_quantity bigint NOT NULL DEFAULT 0 CHECK (included_quantity >= 0),
  billable_quantity bigint NOT NULL CHECK (billable_quantity >= 0),
  unit_size bigint NOT NULL DEFAULT 1 CHECK (unit_size >= 1),
  unit_price_cents bigint NOT NULL CHECK (unit_price_cents >= 0),
  amount_cents bigint NOT NULL CHECK (amount_cents >= 0),
  FOREIGN KEY (org_id, invoice_id) REFERENCES invoices (org_id, id) ON DELETE CASCADE,
  CONSTRAINT invoice_lines_position UNIQUE (org_id, invoice_id, position)
);

-- ---------------------------------------------------------------- permissions
-- Reading billing (plans, subscription, usage, invoices) is for admins;
-- changing the plan, paying and voiding spends money: owners only.
INSERT INTO permissions (resource, action, description) VALUES
  ('billing', 'read', 'Read the subscription, usage records and invoices'),
  ('billing', 'write', 'Change the plan, cancel and resume the subscription, pay and void invoices');
INSERT INTO role_permissions (role_id, permission_id)
SELECT r.id, p.id FROM roles r JOIN permissions p ON
  (r.name = 'admin' AND (p.resource, p.action) IN (('billing', 'read')))
  OR (r.name = 'owner' AND (p.resource, p.action) IN (('billing', 'write')))
WHERE r.org_id IS NULL;

-- ---------------------------------------------------------- privileges + RLS
GRANT SELECT, INSERT, UPDATE ON subscriptions, usage_records, invoices TO agentbase_app;
GRANT SELECT, INSERT ON invoice_lines TO agentbase_app;
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['subscriptions', 'usage_records', 'invoices', 'invoice_lines'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I TO agentbase_app USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org())', t);
  END LOOP;
END $$;

-- ------------------------------------------------------- maintenance lookup
-- The subscriptions with something due at p_now (a period ended, a trial
-- ended) and the earliest such moment, for maintenance to enqueue one
-- period-close job per organization and event. Like ops_organization_ids()
-- (0002) it is owned by agentbase_auth and returns no more than that; the job
-- then works inside the tenant's own transaction.
CREATE POLICY billing_due ON subscriptions FOR SELECT TO agentbase_auth USING (true);
GRANT SELECT (org_id, status, current_period_end, trial_end) ON subscriptions TO agentbase_auth;
CREATE FUNCTION billing_due_subscriptions(p_now timestamptz)
RETURNS TABLE (org_id uuid, due_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT s.org_id, least(s.current_period_end, CASE WHEN s.status = 'trialing' THEN s.trial_end END)
  FROM subscriptions s
  WHERE (s.status <> 'canceled' AND s.current_period_end <= p_now) OR (s.status = 'trialing' AND s.trial_end <= p_now)
  ORDER BY 2, 1
$$;
ALTER FUNCTION billing_due_subscriptions(timestamptz) OWNER TO agentbase_auth;
REVOKE ALL ON FUNCTION billing_due_subscriptions(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION billing_due_subscriptions(timestamptz) TO agentbase_app;
