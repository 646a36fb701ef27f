-- Background jobs (seed 003 REQ-T139): a durable queue in PostgreSQL. See
-- src/jobs/index.ts for the vocabulary (job, queue, lease, attempt, dead letter).
--
-- Who touches what:
--   agentbase_app   enqueues, reads, cancels and redrives one organization's jobs
--                   under forced RLS, like every tenant table.
--   agentbase_auth  owns the worker functions below. A worker serves every
--                   organization, but it runs as agentbase_app, which RLS confines
--                   to one tenant per transaction; claiming "the next job of any
--                   tenant" is a cross-tenant read by nature. Rather than give the
--                   app role a policy that sees every tenant, the few worker
--                   operations are SECURITY DEFINER functions whose owner has a
--                   policy on this table alone, may update only the lease and
--                   outcome columns, and can neither insert, delete, nor change a
--                   job's organization, queue, task or payload.
--
-- Every worker function is one statement in its own transaction: no session
-- state, no advisory locks held across calls, no LISTEN, so it works through
-- PgBouncer in transaction mode. Polling is what makes it correct; a
-- notification could only ever make it faster.
--
-- Fencing: a lease is (locked_by, attempts). complete, fail, heartbeat and
-- release name both, so a worker whose lease expired and was taken over (or
-- released) cannot overwrite the outcome of the attempt that replaced it.

CREATE TABLE background_jobs (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  queue varchar(100) NOT NULL CHECK (queue ~ '^[a-z0-9][a-z0-9._:-]*$'),
  task varchar(200) NOT NULL CHECK (task ~ '^[A-Za-z0-9][A-Za-z0-9._:/-]*$'),
  payload jsonb NOT NULL DEFAULT '{}',
  result jsonb,
  -- queued: waiting for run_at. running: leased to locked_by until locked_until.
  -- failed: the last attempt failed and a retry waits for run_at. succeeded,
  -- dead (attempts exhausted: the dead letter) and cancelled are final, except
  -- that a dead job may be redriven.
  status varchar(20) NOT NULL DEFAULT 'queued'
    CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'dead', 'cancelled')),
  priority integer NOT NULL DEFAULT 0 CHECK (priority BETWEEN -1000 AND 1000),
  run_at timestamptz NOT NULL DEFAULT now(),
  attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  max_attempts integer NOT NULL DEFAULT 5 CHECK (max_attempts BETWEEN 1 AND 100),
  last_error text CHECK (length(last_error) <= 4000),
  locked_by varchar(200),
  locked_until timestamptz,
  idempotency_key varchar(255),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  CHECK ((status = 'running') = (locked_by IS NOT NULL AND locked_until IS NOT NULL)),
  CHECK ((status IN ('succeeded', 'dead', 'cancelled')) = (finished_at IS NOT NULL))
);
CREATE TRIGGER background_jobs_touch BEFORE UPDATE ON background_jobs FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

-- The claim: the runnable jobs in claim order, so the scan stops after the
-- first runnable rows instead of sorting the backlog.
CREATE INDEX idx_background_jobs_claim ON background_jobs (priority DESC, run_at, id)
  WHERE status IN ('queued', 'failed');
-- Reclaiming: running jobs by lease end.
CREATE INDEX idx_background_jobs_lease ON background_jobs (locked_until) WHERE status = 'running';
-- An organization's status queries (REQ-T139: under 50 ms): newest first, by
-- status or by queue, each an index range in keyset order. Ids are UUIDv7 made
-- at enqueue, so id order is creation order, and an exact keyset on its own
-- (created_at has microseconds a JSON cursor would round away).
CREATE INDEX idx_background_jobs_org ON background_jobs (org_id, id DESC);
CREATE INDEX idx_background_jobs_org_status ON background_jobs (org_id, status, id DESC);
CREATE INDEX idx_background_jobs_org_queue ON background_jobs (org_id, queue, id DESC);
CREATE UNIQUE INDEX idx_background_jobs_idempotency ON background_jobs (org_id, queue, idempotency_key)
  WHERE idempotency_key IS NOT NULL;

-- ---------------------------------------------------------- privileges + RLS
GRANT SELECT, INSERT, UPDATE ON background_jobs TO agentbase_app;
ALTER TABLE background_jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE background_jobs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON background_jobs TO agentbase_app
  USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org());

GRANT SELECT, UPDATE (status, result, run_at, attempts, last_error, locked_by, locked_until, finished_at)
  ON background_jobs TO agentbase_auth;
CREATE POLICY worker_read ON background_jobs FOR SELECT TO agentbase_auth USING (true);
CREATE POLICY worker_update ON background_jobs FOR UPDATE TO agentbase_auth USING (true) WITH CHECK (true);

-- ---------------------------------------------------------- worker functions
-- Expired leases (a worker that died or stalled past its lease) become
-- claimable again. The lost attempt counts: a job that kills its worker every
-- time is dead-lettered after max_attempts instead of looping forever.
CREATE FUNCTION jobs_reclaim_expired(p_limit integer)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  n integer;
BEGIN
  WITH expired AS (
    SELECT j.id FROM background_jobs j
    WHERE j.status = 'running' AND j.locked_until < now()
    ORDER BY j.locked_until
    LIMIT greatest(p_limit, 0)
    FOR UPDATE SKIP LOCKED
  )
  UPDATE background_jobs j
  SET status = CASE WHEN j.attempts >= j.max_attempts THEN 'dead' ELSE 'failed' END,
      finished_at = CASE WHEN j.attempts >= j.max_attempts THEN now() END,
      last_error = format('lease held by %s expired at %s without an outcome (the worker stopped or stalled)',
                          j.locked_by, j.locked_until),
      run_at = now(),
      locked_by = NULL,
      locked_until = NULL
  FROM expired WHERE j.id = expired.id;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;

-- Claims up to p_limit runnable jobs (of p_queues, or of every queue when it is
-- NULL), highest priority first, then earliest run_at. SKIP LOCKED lets
-- concurrent workers take disjoint jobs without waiting on each other.
CREATE FUNCTION jobs_claim(p_worker text, p_queues text[], p_limit integer, p_lease_ms integer)
RETURNS TABLE (id uuid, org_id uuid, queue varchar, task varchar, payload jsonb, priority integer,
               attempts integer, max_attempts integer, run_at timestamptz, locked_until timestamptz,
               created_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
#variable_conflict use_column
BEGIN
  IF p_worker IS NULL OR length(p_worker) NOT BETWEEN 1 AND 200 THEN
    RAISE EXCEPTION 'worker id must be 1 to 200 characters' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 1000 OR p_lease_ms IS NULL OR p_lease_ms NOT BETWEEN 10 AND 86400000 THEN
    RAISE EXCEPTION 'limit must be 1..1000 and lease 10 ms..1 day' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  PERFORM jobs_reclaim_expired(1000);
  RETURN QUERY
  WITH picked AS (
    SELECT j.id FROM background_jobs j
    WHERE j.status IN ('queued', 'failed') AND j.run_at <= now()
      AND (p_queues IS NULL OR j.queue = ANY (p_queues))
    ORDER BY j.priority DESC, j.run_at, j.id
    LIMIT p_limit
    FOR UPDATE SKIP LOCKED
  ), claimed AS (
    UPDATE background_jobs j
    SET status = 'running', attempts = j.attempts + 1, locked_by = p_worker,
        locked_until = now() + make_interval(secs => p_lease_ms / 1000.0)
    FROM picked WHERE j.id = picked.id
    RETURNING j.id, j.org_id, j.queue, j.task, j.payload, j.priority, j.attempts, j.max_attempts,
              j.run_at, j.locked_until, j.created_at
  )
  SELECT c.id, c.org_id, c.queue, c.task, c.payload, c.priority, c.attempts, c.max_attempts,
         c.run_at, c.locked_until, c.created_at
  FROM claimed c ORDER BY c.priority DESC, c.run_at, c.id;
END $$;

-- Extends the leases this worker still holds; returns those ids. A job missing
-- from the answer was lost (reclaimed or released): its handler should stop.
CREATE FUNCTION jobs_heartbeat(p_worker text, p_ids uuid[], p_attempts integer[], p_lease_ms integer)
RETURNS SETOF uuid
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
  UPDATE background_jobs j
  SET locked_until = now() + make_interval(secs => least(greatest(p_lease_ms, 10), 86400000) / 1000.0)
  FROM unnest(p_ids, p_attempts) AS l(id, attempt)
  WHERE j.id = l.id AND j.attempts = l.attempt AND j.status = 'running' AND j.locked_by = p_worker
  RETURNING j.id
$$;

CREATE FUNCTION jobs_complete(p_worker text, p_id uuid, p_attempt integer, p_result jsonb)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  UPDATE background_jobs j
  SET status = 'succeeded', result = p_result, finished_at = now(), last_error = NULL,
      locked_by = NULL, locked_until = NULL
  WHERE j.id = p_id AND j.attempts = p_attempt AND j.status = 'running' AND j.locked_by = p_worker;
  RETURN FOUND;
END $$;

-- A failed attempt: retried after p_retry_delay_ms, or dead-lettered when its
-- attempts are spent or p_retry is false (a failure retrying cannot fix).
-- Returns the new status, or NULL when the lease was no longer held.
CREATE FUNCTION jobs_fail(p_worker text, p_id uuid, p_attempt integer, p_error text, p_retry boolean, p_retry_delay_ms integer)
RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  s text;
BEGIN
  UPDATE background_jobs j
  SET status = CASE WHEN p_retry AND j.attempts < j.max_attempts THEN 'failed' ELSE 'dead' END,
      finished_at = CASE WHEN p_retry AND j.attempts < j.max_attempts THEN NULL ELSE now() END,
      run_at = CASE WHEN p_retry AND j.attempts < j.max_attempts
                    THEN now() + make_interval(secs => greatest(p_retry_delay_ms, 0) / 1000.0) ELSE j.run_at END,
      last_error = left(coalesce(p_error, 'failed without a message'), 4000),
      locked_by = NULL, locked_until = NULL
  WHERE j.id = p_id AND j.attempts = p_attempt AND j.status = 'running' AND j.locked_by = p_worker
  RETURNING j.status INTO s;
  RETURN s;
END $$;

-- A worker shutting down hands back what it could not finish. The interrupted
-- attempt is not counted: the job did not fail, its worker left.
CREATE FUNCTION jobs_release(p_worker text, p_ids uuid[], p_attempts integer[])
RETURNS SETOF uuid
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
  UPDATE background_jobs j
  SET status = 'queued', attempts = j.attempts - 1, run_at = now(),
      last_error = left(format('released unfinished by %s at shutdown', p_worker), 4000),
      locked_by = NULL, locked_until = NULL
  FROM unnest(p_ids, p_attempts) AS l(id, attempt)
  WHERE j.id = l.id AND j.attempts = l.attempt AND j.status = 'running' AND j.locked_by = p_worker
  RETURNING j.id
$$;

DO $$
DECLARE f text;
BEGIN
  FOREACH f IN ARRAY ARRAY['jobs_reclaim_expired(integer)', 'jobs_claim(text, text[], integer, integer)',
                           'jobs_heartbeat(text, uuid[], integer[], integer)', 'jobs_complete(text, uuid, integer, jsonb)',
                           'jobs_fail(text, uuid, integer, text, boolean, integer)', 'jobs_release(text, uuid[], integer[])'] LOOP
    EXECUTE format('ALTER FUNCTION %s OWNER TO agentbase_auth', f);
    EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
    EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO agentbase_app', f);
  END LOOP;
END $$;
