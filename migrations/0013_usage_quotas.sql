-- 0013: runs and telemetry get separate limits (issue 10).
--
-- Seed 002's organizations.max_executions_per_month counted every execution,
-- ingested telemetry included, so 10,000 OTLP traces exhausted the month and
-- the runtime then refused real runs. From here on it limits the runs the
-- service executes (the agent runtime, agent-to-agent calls included), and
-- ingested spans have limits of their own: per month, and per second.
--
-- usage_counters: what an organization used per calendar month (UTC) and
-- metric, counted when the work commits, in the same transaction. Writers that
-- do not hold the organization's row lock (ingestion) add to the row of their
-- backend's shard, so concurrent batches do not queue on one row; readers sum
-- the shards. The runs of a month start counting at this migration.
--
-- ingest_rate_buckets: one token bucket per organization for the per-second
-- limit (refilled continuously at the limit, holding at most one second's
-- worth); a request is let through while the bucket is not in debt and takes
-- its spans from it, so a batch larger than a second's worth passes and the
-- next one waits until the debt is repaid. Kept in PostgreSQL so the limit
-- holds across processes.

ALTER TABLE organizations
  ADD COLUMN max_ingested_spans_per_month bigint NOT NULL DEFAULT 10000000
    CHECK (max_ingested_spans_per_month >= 0),
  ADD COLUMN max_ingested_spans_per_second integer NOT NULL DEFAULT 10000
    CHECK (max_ingested_spans_per_second > 0);

COMMENT ON COLUMN organizations.max_executions_per_month IS
  'runs the agent runtime executes per calendar month (UTC); ingested telemetry is limited by max_ingested_spans_*';

CREATE TABLE usage_counters (
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  period date NOT NULL CHECK (extract(day FROM period) = 1),
  metric varchar(30) NOT NULL CHECK (metric IN ('runs', 'ingested_spans')),
  shard smallint NOT NULL CHECK (shard BETWEEN 0 AND 7),
  value bigint NOT NULL DEFAULT 0 CHECK (value >= 0),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, period, metric, shard)
);

CREATE TABLE ingest_rate_buckets (
  org_id uuid PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
  tokens double precision NOT NULL,
  refreshed_at timestamptz NOT NULL
);

-- Takes p_n tokens from the caller's organization's bucket, refilled at its
-- max_ingested_spans_per_second, if the bucket is not in debt. Returns whether
-- it did, how long until it would (ms), and the rate. Runs as the caller,
-- under RLS; its commit need not wait for the disk (a bucket lost in a crash
-- only lets a second's worth through again).
CREATE FUNCTION take_ingest_tokens(p_org uuid, p_n integer, OUT allowed boolean, OUT retry_after_ms integer, OUT rate integer)
LANGUAGE plpgsql AS $$
DECLARE
  available double precision;
BEGIN
  PERFORM set_config('synchronous_commit', 'off', true);
  SELECT o.max_ingested_spans_per_second INTO rate FROM organizations o WHERE o.id = p_org;
  IF rate IS NULL THEN -- not visible to this tenant: nothing to limit here (the batch itself will find nothing)
    allowed := true; retry_after_ms := 0; rate := 0;
    RETURN;
  END IF;
  INSERT INTO ingest_rate_buckets (org_id, tokens, refreshed_at) VALUES (p_org, rate, clock_timestamp())
  ON CONFLICT (org_id) DO NOTHING;
  SELECT least(rate::double precision, b.tokens + extract(epoch FROM clock_timestamp() - b.refreshed_at) * rate)
    INTO available FROM ingest_rate_buckets b WHERE b.org_id = p_org FOR UPDATE;
  allowed := available >= 0;
  retry_after_ms := CASE WHEN allowed THEN 0 ELSE ceil(-available * 1000 / rate)::integer END;
  UPDATE ingest_rate_buckets
     SET tokens = CASE WHEN allowed THEN available - p_n ELSE available END, refreshed_at = clock_timestamp()
   WHERE org_id = p_org;
END $$;

GRANT SELECT, INSERT, UPDATE ON usage_counters, ingest_rate_buckets TO agentbase_app;
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['usage_counters', 'ingest_rate_buckets'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I TO agentbase_app USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org())', t);
  END LOOP;
END $$;
