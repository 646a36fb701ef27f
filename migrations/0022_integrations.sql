-- Integrations and OAuth tokens (issue 14): seed 002's integrations table and
-- seed 003's REQ-T129 oauth_tokens ("OAuth token storage; access tokens
-- encrypted; token validation < 10 ms"), the authorization requests of the
-- OAuth authorization-code flow (oauth_states), and the integrations:read /
-- integrations:write permissions.
--
-- Reconciled with seed 002:
-- - organization_id is org_id, first in every index; RLS as everywhere.
-- - user_id: who created the integration (seed: NOT NULL, ON DELETE CASCADE).
-- - vault_path: agentbase has no external vault. Tokens are sealed with
--   AES-256-GCM under the key derived from AGENTBASE_SECRET (the secrets
--   store's encryption, src/identity/secrets.ts) and kept in oauth_tokens,
--   whose integration_id is the "reference stored here".
-- - token_expires_at / refresh_token_expires_at: on oauth_tokens (expires_at,
--   refresh_token_expires_at), which a refresh rewrites under a row lock;
--   the API shows them with the integration.
-- - scopes: integrations.scopes are the scopes the authorization asks for;
--   oauth_tokens.scopes are those the provider granted.
-- - status: seed's active/expired/revoked/error, with active called
--   connected, plus pending (no token yet) and disabled (switched off).
-- - unique_integration_per_user: (org_id, user_id, provider, provider_account_id)
--   over live rows; NULL account ids (not yet known) never collide.
-- Added: display_name, config (validated, never secrets: the API refuses
-- secret-looking keys), the OAuth client settings (client secret sealed,
-- write-only), last_sync_at, version (optimistic lock), deleted_at.

-- ------------------------------------------------------------- integrations
CREATE TABLE integrations (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  provider varchar(100) NOT NULL CHECK (provider ~ '^[a-z][a-z0-9_.-]*$'),
  display_name varchar(255) NOT NULL CHECK (length(btrim(display_name)) > 0),
  provider_account_id varchar(255),
  provider_account_name varchar(255),
  config jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(config) = 'object'),
  scopes text[] NOT NULL DEFAULT '{}' CHECK (array_ndims(scopes) IS NULL OR array_ndims(scopes) = 1),
  -- Where tools may send this integration's token (exact hosts or *.example.com),
  -- as a secret's allowed hosts: without it anyone who may edit a tool could
  -- point one at a host of their own and receive the organization's token.
  -- Empty: no tool may send it until an admin lists the API's hosts.
  allowed_hosts text[] NOT NULL DEFAULT '{}' CHECK (array_ndims(allowed_hosts) IS NULL OR array_ndims(allowed_hosts) = 1),
  -- OAuth client settings (RFC 6749): where to send the user and where to
  -- exchange and refresh codes; the client secret sealed, never returned.
  authorize_url text CHECK (authorize_url ~ '^https?://'),
  token_url text CHECK (token_url ~ '^https?://'),
  revocation_url text CHECK (revocation_url ~ '^https?://'),
  redirect_uri text CHECK (redirect_uri ~ '^https?://'),
  client_id varchar(500),
  client_secret_ciphertext text,
  -- client_secret_basic (HTTP Basic) or client_secret_post (in the form), RFC 6749 §2.3.1
  client_auth varchar(20) NOT NULL DEFAULT 'basic' CHECK (client_auth IN ('basic', 'post')),
  -- extra query parameters of the authorization request (access_type=offline …)
  authorize_params jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(authorize_params) = 'object'),
  status varchar(50) NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'connected', 'expired', 'error', 'revoked', 'disabled')),
  last_used_at timestamptz,
  last_sync_at timestamptz,
  last_error text CHECK (length(last_error) <= 2000),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz,
  version integer NOT NULL DEFAULT 1
);
-- seed: unique_integration_per_user UNIQUE (user_id, provider, provider_account_id),
-- among live integrations (a deleted one does not block connecting the account again)
CREATE UNIQUE INDEX unique_integration_per_user ON integrations (org_id, user_id, provider, provider_account_id) WHERE deleted_at IS NULL;
-- seed: idx_integrations_organization_id; GET /v1/integrations, newest first, keyset (created_at, id)
CREATE INDEX idx_integrations_organization_id ON integrations (org_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;
-- seed: idx_integrations_user_id (user_id)
CREATE INDEX idx_integrations_user_id ON integrations (org_id, user_id);
-- seed: idx_integrations_provider (provider)
CREATE INDEX idx_integrations_provider ON integrations (org_id, provider);
-- seed: idx_integrations_status (status)
CREATE INDEX idx_integrations_status ON integrations (org_id, status);

-- ------------------------------------------------------------- oauth_tokens
-- One token set per integration. Both tokens are sealed (AES-256-GCM, key
-- derived from AGENTBASE_SECRET); no query the API answers from reads them.
-- A refresh takes the row lock (SELECT … FOR UPDATE) before it spends the
-- refresh token, so two refreshes never send the same one; a rotated refresh
-- token replaces the old one in the same statement as the new access token.
CREATE TABLE oauth_tokens (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  integration_id uuid NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
  access_token_ciphertext text NOT NULL,
  refresh_token_ciphertext text,
  token_type varchar(50) NOT NULL DEFAULT 'Bearer' CHECK (token_type ~ '^[A-Za-z0-9_.-]+$'),
  scopes text[] NOT NULL DEFAULT '{}' CHECK (array_ndims(scopes) IS NULL OR array_ndims(scopes) = 1),
  expires_at timestamptz,
  refresh_token_expires_at timestamptz,
  -- how the token set was obtained: the authorization-code flow or PUT …/token
  source varchar(30) NOT NULL CHECK (source IN ('authorization_code', 'manual')),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  refreshed_at timestamptz,
  last_used_at timestamptz,
  -- counts refreshes and replacements
  version integer NOT NULL DEFAULT 1,
  -- REQ-T129 "token validation < 10 ms": a token is found by its integration, one index probe
  CONSTRAINT unique_oauth_token_per_integration UNIQUE (org_id, integration_id)
);
-- The periodic refresh looks across organizations (oauth_tokens_due below)
-- for refreshable tokens expiring soon; that one query is by time, not tenant.
CREATE INDEX idx_oauth_tokens_due ON oauth_tokens (expires_at) WHERE refresh_token_ciphertext IS NOT NULL AND expires_at IS NOT NULL;

-- ------------------------------------------------------------- oauth_states
-- One authorization request in flight: the state parameter (only its SHA-256
-- is stored) binds the callback to its organization, integration and
-- initiating user; the PKCE code verifier (RFC 7636) is sealed. Single use
-- (used_at is set by the first callback), expiring; stale rows of an
-- organization are deleted when it starts another authorization.
CREATE TABLE oauth_states (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  integration_id uuid NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
  user_id uuid REFERENCES users (id) ON DELETE CASCADE,
  state_hash char(64) NOT NULL UNIQUE,
  code_verifier_ciphertext text NOT NULL,
  redirect_uri text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  used_at timestamptz,
  CHECK (expires_at > created_at)
);
CREATE INDEX idx_oauth_states_org ON oauth_states (org_id, expires_at);
CREATE INDEX idx_oauth_states_integration ON oauth_states (org_id, integration_id);

-- ---------------------------------------------------------------- permissions
INSERT INTO permissions (resource, action, description) VALUES
  ('integrations', 'read', 'Read integrations and their token metadata (never the tokens)'),
  ('integrations', 'write', 'Create, change, connect, revoke and delete integrations and their OAuth tokens');
INSERT INTO role_permissions (role_id, permission_id)
SELECT r.id, p.id FROM roles r JOIN permissions p ON
  (r.name = 'member' AND (p.resource, p.action) IN (('integrations', 'read')))
  OR (r.name = 'admin' AND (p.resource, p.action) IN (('integrations', 'write')))
WHERE r.org_id IS NULL;

-- ---------------------------------------------------------- privileges + RLS
GRANT SELECT, INSERT, UPDATE, DELETE ON integrations, oauth_tokens, oauth_states TO agentbase_app;
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['integrations', 'oauth_tokens', 'oauth_states'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I TO agentbase_app USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org())', t);
  END LOOP;
END $$;

-- ------------------------------------------------------- no-tenant lookups
-- The OAuth callback arrives without a login: the state is all it carries.
-- This finds the authorization request a state hash names, with its
-- organization, as plan_share_find (0018) finds a share; everything after
-- runs in that organization. Returns ids only.
CREATE FUNCTION oauth_state_find(p_state_hash text)
RETURNS TABLE (id uuid, org_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT s.id, s.org_id FROM oauth_states s WHERE s.state_hash = p_state_hash LIMIT 1
$$;
CREATE POLICY state_find ON oauth_states FOR SELECT TO agentbase_auth USING (true);
GRANT SELECT (id, org_id, state_hash) ON oauth_states TO agentbase_auth;
ALTER FUNCTION oauth_state_find(text) OWNER TO agentbase_auth;
REVOKE ALL ON FUNCTION oauth_state_find(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION oauth_state_find(text) TO agentbase_app;

-- The periodic refresh: refreshable tokens of any organization that expire
-- before p_before, soonest first, at most p_limit; ids only (the refresh
-- itself runs in each token's organization).
CREATE FUNCTION oauth_tokens_due(p_before timestamptz, p_limit integer)
RETURNS TABLE (org_id uuid, integration_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT t.org_id, t.integration_id FROM oauth_tokens t
  WHERE t.refresh_token_ciphertext IS NOT NULL AND t.expires_at IS NOT NULL AND t.expires_at < p_before
  ORDER BY t.expires_at LIMIT p_limit
$$;
CREATE POLICY tokens_due ON oauth_tokens FOR SELECT TO agentbase_auth USING (true);
GRANT SELECT (org_id, integration_id, refresh_token_ciphertext, expires_at) ON oauth_tokens TO agentbase_auth;
ALTER FUNCTION oauth_tokens_due(timestamptz, integer) OWNER TO agentbase_auth;
REVOKE ALL ON FUNCTION oauth_tokens_due(timestamptz, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION oauth_tokens_due(timestamptz, integer) TO agentbase_app;
