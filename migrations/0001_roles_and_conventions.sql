-- Roles, helper functions and conventions every later migration relies on.
--
-- agentbase_app   the role the service runs every request as. It owns nothing,
--                 so forced row-level security always applies to it.
-- agentbase_auth  owns the few SECURITY DEFINER lookups that must run before a
--                 tenant is known (API key by prefix, refresh token by hash, a
--                 user's organizations). Policies grant it exactly those reads.
-- Roles are cluster-wide; several databases in one cluster share them, so
-- creating them tolerates a concurrent creator.

DO $$
BEGIN
  CREATE ROLE agentbase_app NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;

DO $$
BEGIN
  CREATE ROLE agentbase_auth NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;

DO $$
BEGIN
  EXECUTE format('GRANT agentbase_app, agentbase_auth TO %I', current_user);
EXCEPTION WHEN duplicate_object OR unique_violation OR invalid_grant_operation THEN NULL;
END $$;

GRANT USAGE ON SCHEMA public TO agentbase_app, agentbase_auth;

-- The tenant of the current transaction; NULL when none is set, which makes
-- every tenant policy false: a missing tenant fails closed.
CREATE FUNCTION app_current_org() RETURNS uuid
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT nullif(current_setting('app.org_id', true), '')::uuid $$;

-- updated_at maintained by the database, not by each caller.
CREATE FUNCTION touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END $$;

-- Optimistic locking: every update bumps version; writers say which version
-- they read (WHERE version = $n) and a stale write matches no row (409).
CREATE FUNCTION touch_versioned() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  NEW.version := OLD.version + 1;
  RETURN NEW;
END $$;

-- Monthly range partitions, created ahead by the service at start-up and by
-- its maintenance loop. Bounds are UTC month starts whatever the session zone.
CREATE FUNCTION ensure_monthly_partitions(p_parent regclass, p_from timestamptz, p_months integer)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  parent_name text := (SELECT relname FROM pg_class WHERE oid = p_parent);
  month_start timestamp;
  part_name text;
  created integer := 0;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('agentbase.partitions'));
  FOR i IN 0 .. p_months - 1 LOOP
    month_start := date_trunc('month', p_from AT TIME ZONE 'UTC') + make_interval(months => i);
    part_name := format('%s_p%s', parent_name, to_char(month_start, 'YYYYMM'));
    IF to_regclass(quote_ident(part_name)) IS NULL THEN
      EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
        part_name, parent_name,
        month_start AT TIME ZONE 'UTC', (month_start + interval '1 month') AT TIME ZONE 'UTC');
      created := created + 1;
    END IF;
  END LOOP;
  RETURN created;
END $$;

-- Retention: drop whole partitions whose upper bound is at or before p_before.
CREATE FUNCTION drop_partitions_before(p_parent regclass, p_before timestamptz)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  child record;
  upper_bound timestamptz;
  dropped integer := 0;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('agentbase.partitions'));
  FOR child IN
    SELECT c.oid::regclass AS rel, pg_get_expr(c.relpartbound, c.oid) AS bound
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = p_parent
  LOOP
    upper_bound := substring(child.bound FROM 'TO \(''([^'']+)''\)')::timestamptz;
    IF upper_bound IS NOT NULL AND upper_bound <= p_before THEN
      EXECUTE format('DROP TABLE %s', child.rel);
      dropped := dropped + 1;
    END IF;
  END LOOP;
  RETURN dropped;
END $$;
