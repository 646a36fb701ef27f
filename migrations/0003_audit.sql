-- The append-only, hash-chained audit log (seeds 002 and 003).
--
-- Each organization's rows form a chain: row n stores seq = n, the hash of row
-- n-1 (prev_hash) and hash = SHA-256(prev_hash || canonical content of row n).
-- Writers serialize on the organization's row in audit_chain_heads (a row lock
-- taken by the UPDATE), so concurrent transactions can never fork the chain.
-- The verifier recomputes every hash, checks seq has no gaps or repeats, and
-- compares the last row with the head.

CREATE TABLE audit_logs (
  id uuid NOT NULL,
  org_id uuid NOT NULL,
  seq bigint NOT NULL CHECK (seq > 0),
  actor_type varchar(20) NOT NULL CHECK (actor_type IN ('user', 'api_key', 'system')),
  user_id uuid,
  api_key_id uuid,
  session_id uuid,
  agent_id uuid,
  action varchar(100) NOT NULL,
  resource_type varchar(100) NOT NULL,
  resource_id varchar(255),
  old_values jsonb,
  new_values jsonb,
  ip_address inet,
  user_agent text,
  request_id varchar(100),
  prev_hash char(64) NOT NULL,
  hash char(64) NOT NULL,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);

CREATE INDEX idx_audit_logs_org_seq ON audit_logs (org_id, seq);
CREATE INDEX idx_audit_logs_org_created ON audit_logs (org_id, created_at DESC);
CREATE INDEX idx_audit_logs_user ON audit_logs (org_id, user_id, created_at DESC);
CREATE INDEX idx_audit_logs_resource ON audit_logs (org_id, resource_type, resource_id);
CREATE INDEX idx_audit_logs_action ON audit_logs (org_id, action, created_at DESC);

CREATE TABLE audit_chain_heads (
  org_id uuid PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
  seq bigint NOT NULL DEFAULT 0,
  last_hash char(64) NOT NULL DEFAULT repeat('0', 64),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Append-only for everyone, owner included: history is never rewritten.
-- Retention drops whole partitions instead (seed 002: 7 years).
CREATE FUNCTION audit_logs_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_logs is append-only: % is not allowed', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_logs_append_only BEFORE UPDATE OR DELETE ON audit_logs
  FOR EACH ROW EXECUTE FUNCTION audit_logs_append_only();
CREATE TRIGGER audit_logs_no_truncate BEFORE TRUNCATE ON audit_logs
  FOR EACH STATEMENT EXECUTE FUNCTION audit_logs_append_only();

GRANT SELECT, INSERT ON audit_logs TO agentbase_app;
GRANT SELECT, INSERT, UPDATE ON audit_chain_heads TO agentbase_app;

ALTER TABLE audit_logs ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_logs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_read ON audit_logs FOR SELECT TO agentbase_app USING (org_id = app_current_org());
CREATE POLICY tenant_append ON audit_logs FOR INSERT TO agentbase_app WITH CHECK (org_id = app_current_org());

ALTER TABLE audit_chain_heads ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_chain_heads FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_chain_heads TO agentbase_app
  USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org());

SELECT ensure_monthly_partitions('audit_logs', now() - interval '1 month', 4);
