-- Identity: organizations (the tenants), users and their credentials, MFA,
-- memberships, RBAC with role inheritance, invitations, sessions with rotating
-- refresh tokens, and API keys. See docs/schema.md for how the seeds' tables
-- were reconciled into these.

-- ---------------------------------------------------------------- organizations
CREATE TABLE organizations (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name varchar(255) NOT NULL CHECK (length(btrim(name)) > 0),
  slug varchar(100) NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$'),
  logo_url text,
  settings jsonb NOT NULL DEFAULT '{}',
  max_agents integer NOT NULL DEFAULT 10 CHECK (max_agents >= 0),
  max_executions_per_month integer NOT NULL DEFAULT 1000 CHECK (max_executions_per_month >= 0),
  max_team_members integer NOT NULL DEFAULT 5 CHECK (max_team_members >= 1),
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz
);
CREATE INDEX idx_organizations_deleted_at ON organizations (deleted_at) WHERE deleted_at IS NULL;
CREATE TRIGGER organizations_touch BEFORE UPDATE ON organizations FOR EACH ROW EXECUTE FUNCTION touch_versioned();

-- ------------------------------------------------------------------------ users
-- Users are global identities (one person, many organizations), so this table
-- has no org_id; what an organization sees of them goes through memberships.
CREATE TABLE users (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email varchar(255) NOT NULL CHECK (email = lower(email) AND position('@' IN email) > 1),
  username varchar(100) NOT NULL CHECK (username ~ '^[a-zA-Z0-9][a-zA-Z0-9._-]*$'),
  full_name varchar(255),
  first_name varchar(100),
  last_name varchar(100),
  phone_number varchar(20),
  date_of_birth date,
  avatar_url text,
  profile_data jsonb NOT NULL DEFAULT '{}',
  preferences jsonb NOT NULL DEFAULT '{}',
  travel_preferences jsonb NOT NULL DEFAULT '{}',
  communication_preferences jsonb NOT NULL DEFAULT '{}',
  billing_data jsonb NOT NULL DEFAULT '{}',
  metadata jsonb NOT NULL DEFAULT '{}',
  status varchar(20) NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'deleted')),
  tier varchar(20) NOT NULL DEFAULT 'free' CHECK (tier IN ('free', 'pro', 'enterprise')),
  is_active boolean GENERATED ALWAYS AS (status = 'active' AND deleted_at IS NULL) STORED,
  email_verified_at timestamptz,
  email_verified boolean GENERATED ALWAYS AS (email_verified_at IS NOT NULL) STORED,
  verification_token_hash varchar(255),
  last_login_at timestamptz,
  google_id varchar(255),
  github_id varchar(255),
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz
);
CREATE UNIQUE INDEX idx_users_email ON users (email) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX idx_users_username ON users (lower(username)) WHERE deleted_at IS NULL;
CREATE INDEX idx_users_status ON users (status);
CREATE INDEX idx_users_tier ON users (tier);
CREATE INDEX idx_users_created_at ON users (created_at);
CREATE INDEX idx_users_email_active ON users (email, is_active) WHERE is_active = true;
CREATE INDEX idx_users_last_login ON users (last_login_at) WHERE last_login_at IS NOT NULL;
CREATE INDEX idx_users_google_id ON users (google_id) WHERE google_id IS NOT NULL;
CREATE INDEX idx_users_github_id ON users (github_id) WHERE github_id IS NOT NULL;
CREATE TRIGGER users_touch BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION touch_versioned();

-- Secrets live apart from the profile (seed 003 REQ-T122).
CREATE TABLE user_credentials (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
  password_hash varchar(255) NOT NULL,
  password_changed_at timestamptz,
  mfa_enabled boolean NOT NULL DEFAULT false,
  failed_login_count integer NOT NULL DEFAULT 0 CHECK (failed_login_count >= 0),
  last_failed_login_at timestamptz,
  locked_until timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER user_credentials_touch BEFORE UPDATE ON user_credentials FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

CREATE TABLE mfa_devices (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  device_type varchar(20) NOT NULL DEFAULT 'totp' CHECK (device_type IN ('totp', 'sms')),
  name varchar(100) NOT NULL DEFAULT 'Authenticator',
  secret_ciphertext text NOT NULL,
  phone_number varchar(20),
  confirmed_at timestamptz,
  last_used_at timestamptz,
  last_used_step bigint,
  created_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz
);
CREATE INDEX idx_mfa_devices_user ON mfa_devices (user_id) WHERE deleted_at IS NULL;

CREATE TABLE mfa_recovery_codes (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  code_hash varchar(255) NOT NULL,
  used_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idx_mfa_recovery_codes_user ON mfa_recovery_codes (user_id) WHERE used_at IS NULL;

-- ------------------------------------------------------------------------- RBAC
CREATE TABLE permissions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  resource varchar(50) NOT NULL CHECK (resource ~ '^[a-z][a-z0-9_]*$'),
  action varchar(50) NOT NULL CHECK (action ~ '^[a-z][a-z0-9_]*$'),
  description text,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (resource, action)
);
CREATE INDEX idx_permissions_resource ON permissions (resource);

-- org_id NULL marks the built-in roles every organization shares.
CREATE TABLE roles (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id uuid REFERENCES organizations (id) ON DELETE CASCADE,
  name varchar(50) NOT NULL CHECK (name ~ '^[a-z][a-z0-9_-]*$'),
  description text,
  parent_role_id uuid REFERENCES roles (id) ON DELETE SET NULL,
  is_system boolean NOT NULL DEFAULT false,
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz,
  CHECK (is_system = (org_id IS NULL)),
  CHECK (parent_role_id IS DISTINCT FROM id)
);
CREATE UNIQUE INDEX idx_roles_org_name ON roles (org_id, name) NULLS NOT DISTINCT WHERE deleted_at IS NULL;
CREATE INDEX idx_roles_name ON roles (name);
CREATE INDEX idx_roles_parent ON roles (parent_role_id);
CREATE TRIGGER roles_touch BEFORE UPDATE ON roles FOR EACH ROW EXECUTE FUNCTION touch_versioned();

CREATE TABLE role_permissions (
  role_id uuid NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
  permission_id uuid NOT NULL REFERENCES permissions (id) ON DELETE CASCADE,
  org_id uuid REFERENCES organizations (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (role_id, permission_id)
);
CREATE INDEX idx_role_permissions_org ON role_permissions (org_id, role_id);

CREATE TABLE memberships (
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  status varchar(20) NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
  invited_by uuid REFERENCES users (id) ON DELETE SET NULL,
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz,
  PRIMARY KEY (org_id, user_id)
);
CREATE INDEX idx_memberships_user ON memberships (user_id) WHERE deleted_at IS NULL;
CREATE TRIGGER memberships_touch BEFORE UPDATE ON memberships FOR EACH ROW EXECUTE FUNCTION touch_versioned();

CREATE TABLE user_roles (
  org_id uuid NOT NULL,
  user_id uuid NOT NULL,
  role_id uuid NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
  granted_by uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, user_id, role_id),
  FOREIGN KEY (org_id, user_id) REFERENCES memberships (org_id, user_id) ON DELETE CASCADE
);
CREATE INDEX idx_user_roles_role ON user_roles (role_id);

CREATE TABLE invitations (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  email varchar(255) NOT NULL CHECK (email = lower(email)),
  role_id uuid NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
  token_hash varchar(255) NOT NULL UNIQUE,
  invited_by uuid REFERENCES users (id) ON DELETE SET NULL,
  expires_at timestamptz NOT NULL,
  accepted_at timestamptz,
  accepted_by uuid REFERENCES users (id) ON DELETE SET NULL,
  revoked_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idx_invitations_org ON invitations (org_id, created_at DESC);

-- ---------------------------------------------------- sessions and refresh tokens
-- A session is one login; its refresh tokens form a family that rotates on every
-- use. Presenting an already-used token revokes the whole session.
CREATE TABLE sessions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  ip_address inet,
  user_agent text,
  device_name varchar(255),
  device_type varchar(50),
  mfa_verified boolean NOT NULL DEFAULT false,
  expires_at timestamptz NOT NULL,
  last_used_at timestamptz,
  revoked_at timestamptz,
  revoked_reason varchar(50),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idx_sessions_org_user ON sessions (org_id, user_id);
CREATE INDEX idx_sessions_user ON sessions (user_id);
CREATE INDEX idx_sessions_expires ON sessions (expires_at) WHERE revoked_at IS NULL;

CREATE TABLE refresh_tokens (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  token_hash varchar(255) NOT NULL UNIQUE,
  expires_at timestamptz NOT NULL,
  used_at timestamptz,
  replaced_by_id uuid,
  revoked_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idx_refresh_tokens_org_session ON refresh_tokens (org_id, session_id);
CREATE INDEX idx_refresh_tokens_user_id ON refresh_tokens (user_id);
CREATE INDEX idx_refresh_tokens_expires_at ON refresh_tokens (expires_at) WHERE revoked_at IS NULL;

-- --------------------------------------------------------------------- API keys
-- The secret is shown once; stored are its first 12 characters (for lookup)
-- and the SHA-256 of the whole key.
CREATE TABLE api_keys (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name varchar(255) NOT NULL CHECK (length(btrim(name)) > 0),
  key_prefix varchar(12) NOT NULL,
  key_hash varchar(255) NOT NULL UNIQUE,
  scopes text[] NOT NULL DEFAULT '{}',
  rate_limit integer NOT NULL DEFAULT 100 CHECK (rate_limit > 0),
  expires_at timestamptz,
  last_used_at timestamptz,
  revoked_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idx_api_keys_org ON api_keys (org_id, created_at DESC);
CREATE INDEX idx_api_keys_key_prefix ON api_keys (key_prefix);
CREATE INDEX idx_api_keys_user_id ON api_keys (user_id);

-- One row per key: the current one-minute window and its request count.
CREATE TABLE api_key_usage (
  api_key_id uuid PRIMARY KEY REFERENCES api_keys (id) ON DELETE CASCADE,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  window_start timestamptz NOT NULL,
  request_count integer NOT NULL DEFAULT 0
);
CREATE INDEX idx_api_key_usage_org ON api_key_usage (org_id);

-- --------------------------------------------------------------- seed: RBAC
-- Seeded before row-level security is forced below: a migrating owner that is
-- not a superuser has no policy of its own and could not insert afterwards.
INSERT INTO permissions (resource, action, description) VALUES
  ('orgs', 'read', 'Read the organization and its settings'),
  ('orgs', 'write', 'Change the organization''s name, settings and limits'),
  ('members', 'read', 'List members and invitations'),
  ('members', 'write', 'Invite, remove and change the roles of members'),
  ('roles', 'read', 'List roles and permissions'),
  ('roles', 'write', 'Create, change and delete custom roles'),
  ('api_keys', 'read', 'List API keys'),
  ('api_keys', 'write', 'Create API keys, and read and revoke your own'),
  ('api_keys', 'manage', 'Read and revoke every member''s API keys'),
  ('audit', 'read', 'Read and verify the audit log'),
  ('agents', 'read', 'Read agents, versions and tools'),
  ('agents', 'write', 'Create and change agents, versions and tools'),
  ('executions', 'read', 'Read executions, spans and costs'),
  ('executions', 'write', 'Record and run executions');

INSERT INTO roles (name, description, is_system) VALUES
  ('viewer', 'Reads everything in the organization', true),
  ('member', 'Builds and runs agents', true),
  ('admin', 'Manages members, roles and keys', true),
  ('owner', 'Full control of the organization', true);

-- Inheritance: each role gets its parent's permissions.
UPDATE roles r SET parent_role_id = p.id
FROM (VALUES ('member', 'viewer'), ('admin', 'member'), ('owner', 'admin')) AS v(child, parent)
JOIN roles p ON p.name = v.parent AND p.org_id IS NULL
WHERE r.name = v.child AND r.org_id IS NULL;

INSERT INTO role_permissions (role_id, permission_id)
SELECT r.id, p.id FROM roles r JOIN permissions p ON
  (r.name = 'viewer' AND p.action = 'read' AND p.resource <> 'api_keys')
  OR (r.name = 'member' AND (p.resource, p.action) IN (('agents', 'write'), ('executions', 'write'), ('api_keys', 'read'), ('api_keys', 'write')))
  OR (r.name = 'admin' AND (p.resource, p.action) IN (('members', 'write'), ('roles', 'write'), ('api_keys', 'manage')))
  OR (r.name = 'owner' AND (p.resource, p.action) IN (('orgs', 'write')))
WHERE r.org_id IS NULL;

-- ------------------------------------------------------------- privileges + RLS
GRANT SELECT, INSERT, UPDATE ON users, user_credentials, mfa_devices, mfa_recovery_codes TO agentbase_app;
GRANT SELECT ON permissions TO agentbase_app;
GRANT SELECT, INSERT, UPDATE ON organizations, memberships, roles, invitations, sessions, refresh_tokens, api_keys TO agentbase_app;
GRANT SELECT, INSERT, DELETE ON role_permissions, user_roles TO agentbase_app;

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['memberships', 'user_roles', 'invitations', 'sessions', 'refresh_tokens', 'api_keys', 'api_key_usage'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I TO agentbase_app USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org())', t);
  END LOOP;
END $$;

ALTER TABLE organizations ENABLE ROW LEVEL SECURITY;
ALTER TABLE organizations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON organizations TO agentbase_app
  USING (id = app_current_org()) WITH CHECK (id = app_current_org());

-- Built-in roles (org_id NULL) are visible to every tenant and writable by none.
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['roles', 'role_permissions'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_read ON %I FOR SELECT TO agentbase_app USING (org_id IS NULL OR org_id = app_current_org())', t);
    EXECUTE format('CREATE POLICY tenant_insert ON %I FOR INSERT TO agentbase_app WITH CHECK (org_id = app_current_org())', t);
    EXECUTE format('CREATE POLICY tenant_update ON %I FOR UPDATE TO agentbase_app USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org())', t);
    EXECUTE format('CREATE POLICY tenant_delete ON %I FOR DELETE TO agentbase_app USING (org_id = app_current_org())', t);
  END LOOP;
END $$;

-- ------------------------------------------------- pre-tenant lookups (definer)
GRANT SELECT ON organizations, memberships, invitations, refresh_tokens TO agentbase_auth;
GRANT SELECT, UPDATE (last_used_at) ON api_keys TO agentbase_auth;
GRANT SELECT, INSERT, UPDATE ON api_key_usage TO agentbase_auth;
CREATE POLICY auth_lookup ON organizations FOR SELECT TO agentbase_auth USING (true);
CREATE POLICY auth_lookup ON memberships FOR SELECT TO agentbase_auth USING (true);
CREATE POLICY auth_lookup ON invitations FOR SELECT TO agentbase_auth USING (true);
CREATE POLICY auth_lookup ON refresh_tokens FOR SELECT TO agentbase_auth USING (true);
CREATE POLICY auth_lookup ON api_keys FOR SELECT TO agentbase_auth USING (true);
CREATE POLICY auth_touch ON api_keys FOR UPDATE TO agentbase_auth USING (true) WITH CHECK (true);
CREATE POLICY auth_count ON api_key_usage TO agentbase_auth USING (true) WITH CHECK (true);

-- Authenticates an API key and counts the request in its one-minute window, in
-- one round trip. last_used_at is written at most once a minute per key.
CREATE FUNCTION auth_authenticate_api_key(p_prefix text, p_hash text)
RETURNS TABLE (id uuid, org_id uuid, user_id uuid, scopes text[], rate_limit integer,
               expires_at timestamptz, revoked_at timestamptz,
               window_count integer, window_reset_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
#variable_conflict use_column
DECLARE
  k api_keys%ROWTYPE;
  w timestamptz := date_trunc('minute', clock_timestamp());
  c integer := 0;
BEGIN
  SELECT a.* INTO k FROM api_keys a WHERE a.key_prefix = p_prefix AND a.key_hash = p_hash;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  IF k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now()) THEN
    INSERT INTO api_key_usage AS u (api_key_id, org_id, window_start, request_count)
    VALUES (k.id, k.org_id, w, 1)
    ON CONFLICT (api_key_id) DO UPDATE
      SET request_count = CASE WHEN u.window_start = EXCLUDED.window_start THEN u.request_count + 1 ELSE 1 END,
          window_start = EXCLUDED.window_start
    RETURNING u.request_count INTO c;
    IF k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute' THEN
      UPDATE api_keys a SET last_used_at = now() WHERE a.id = k.id;
    END IF;
  END IF;
  RETURN QUERY SELECT k.id, k.org_id, k.user_id, k.scopes, k.rate_limit, k.expires_at, k.revoked_at,
                      c, w + interval '1 minute';
END $$;

CREATE FUNCTION auth_find_refresh_token(p_hash text)
RETURNS TABLE (id uuid, org_id uuid, session_id uuid, user_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT t.id, t.org_id, t.session_id, t.user_id FROM refresh_tokens t WHERE t.token_hash = p_hash
$$;

CREATE FUNCTION auth_user_organizations(p_user uuid)
RETURNS TABLE (org_id uuid, name varchar, slug varchar, joined_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT o.id, o.name, o.slug, m.created_at
  FROM memberships m JOIN organizations o ON o.id = m.org_id
  WHERE m.user_id = p_user AND m.deleted_at IS NULL AND m.status = 'active' AND o.deleted_at IS NULL
  ORDER BY m.created_at, o.id
$$;

CREATE FUNCTION auth_find_invitation(p_hash text)
RETURNS TABLE (id uuid, org_id uuid, email varchar)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT i.id, i.org_id, i.email FROM invitations i WHERE i.token_hash = p_hash
$$;

-- Used by maintenance and `agentbase audit verify` to walk every tenant.
CREATE FUNCTION ops_organization_ids()
RETURNS SETOF uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT o.id FROM organizations o ORDER BY o.created_at, o.id
$$;

-- On PostgreSQL 15 PUBLIC no longer has CREATE on schema public, and a role
-- must have it to own functions there.
GRANT CREATE ON SCHEMA public TO agentbase_auth;

DO $$
DECLARE f text;
BEGIN
  FOREACH f IN ARRAY ARRAY['auth_authenticate_api_key(text, text)', 'auth_find_refresh_token(text)',
                           'auth_user_organizations(uuid)', 'auth_find_invitation(text)', 'ops_organization_ids()'] LOOP
    EXECUTE format('ALTER FUNCTION %s OWNER TO agentbase_auth', f);
    EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
    EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO agentbase_app', f);
  END LOOP;
END $$;
