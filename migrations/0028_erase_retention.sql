-- Erasure of an organization or a user, and per-organization retention (issue 15).
--
-- Personal data leaves the audit hash chain. From this migration on, a row's
-- actor (user id, session id, IP address, user agent), a resource id that
-- names a person (resource types user and member) and old/new values holding
-- personal keys (email, names, user ids) are kept in audit_pii, a plain tenant
-- table the erasure deletes from. The chained row keeps those fields empty
-- (or '[personal]' inside values) plus pii_digest: SHA-256 of a random salt
-- and the personal data. While audit_pii holds the row, the verifier checks the
-- digest (the personal data is as tamper-evident as the rest); after an
-- erasure the digest is all that remains, and with the salt gone it says
-- nothing about the person. Rows written before 0028 have no digest and are
-- hashed as before, so existing chains verify unchanged.

CREATE TABLE audit_pii (
  audit_id uuid PRIMARY KEY,
  org_id uuid NOT NULL,
  -- the actor, and the person the row is about (member.* / user.*), for erasure and the userId filter
  user_id uuid,
  subject_user_id uuid,
  salt char(32) NOT NULL,
  -- {userId, sessionId, ipAddress, userAgent, resourceId, oldValues, newValues}: what the chained row leaves out
  data jsonb NOT NULL CHECK (jsonb_typeof(data) = 'object'),
  created_at timestamptz NOT NULL
);
CREATE INDEX idx_audit_pii_org_user ON audit_pii (org_id, user_id);
CREATE INDEX idx_audit_pii_user ON audit_pii (user_id);
CREATE INDEX idx_audit_pii_subject ON audit_pii (subject_user_id);
CREATE INDEX idx_audit_pii_org_created ON audit_pii (org_id, created_at);

ALTER TABLE audit_pii ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_pii FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_read ON audit_pii FOR SELECT TO agentbase_app USING (org_id = app_current_org());
CREATE POLICY tenant_append ON audit_pii FOR INSERT TO agentbase_app WITH CHECK (org_id = app_current_org());
-- The app appends and reads; only the owner role (erasure, retention) deletes.
GRANT SELECT, INSERT ON audit_pii TO agentbase_app;

-- Adding a nullable column without a default rewrites nothing.
ALTER TABLE audit_logs ADD COLUMN pii_digest char(64);

-- Still append-only for everyone, with one exception: the owner role erasing
-- one organization (it sets agentbase.erase_org to that organization's id in
-- its transaction) may delete that organization's rows. The app role holds no
-- DELETE privilege on audit_logs at all, so setting the variable gains it nothing.
CREATE OR REPLACE FUNCTION audit_logs_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND current_setting('agentbase.erase_org', true) = OLD.org_id::text THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'audit_logs is append-only: % is not allowed', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$;

-- ------------------------------------------------------------ retention
-- Per organization and data category, how many days rows are kept. The
-- platform's bounds (src/ops/retention/categories.ts) are checked by the
-- service; the CHECK only refuses nonsense.
CREATE TABLE retention_policies (
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  category varchar(40) NOT NULL,
  days integer NOT NULL CHECK (days > 0 AND days <= 36500),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, category)
);

ALTER TABLE retention_policies ENABLE ROW LEVEL SECURITY;
ALTER TABLE retention_policies FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON retention_policies TO agentbase_app
  USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org());
GRANT SELECT, INSERT, UPDATE, DELETE ON retention_policies TO agentbase_app;

-- Rows that leave by an organization's retention are not subtracted from the
-- daily aggregates, as a dropped partition is not: the aggregates keep history
-- the detail tables no longer hold (0007). An erasure deletes the aggregates
-- themselves (and would otherwise re-insert them for an organization already
-- gone). Both set agentbase.skip_rollups in their transaction.
CREATE OR REPLACE FUNCTION rollup_statement() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  old_rows_sql text := CASE WHEN TG_OP IN ('UPDATE', 'DELETE')
    THEN format('ARRAY(SELECT (o.*)::%I FROM old_rows o)', TG_TABLE_NAME) ELSE quote_literal('{}') END;
  new_rows_sql text := CASE WHEN TG_OP IN ('INSERT', 'UPDATE')
    THEN format('ARRAY(SELECT (n.*)::%I FROM new_rows n)', TG_TABLE_NAME) ELSE quote_literal('{}') END;
BEGIN
  IF TG_OP = 'DELETE' AND current_setting('agentbase.skip_rollups', true) = 'on' THEN
    RETURN NULL;
  END IF;
  EXECUTE format('SELECT %I(%s, %s)', TG_ARGV[0], old_rows_sql, new_rows_sql);
  RETURN NULL;
END $$;
