-- Job queue, second step (issue 4): batched outcomes for faster workers, cron
-- schedules, retention of finished jobs, and jobs:* permissions of their own.
-- See src/jobs/index.ts for the vocabulary and 0009 for who touches what.

-- ---------------------------------------------------------- batched outcomes
-- A worker records many outcomes in one statement instead of one transaction
-- per job (src/jobs/outcome-batcher.ts). Fencing is exactly that of
-- jobs_complete and jobs_fail: an element whose lease (worker, attempt) is no
-- longer held is skipped, and its id is missing from the answer.
--
-- They test locked_by and locked_until, not status: 0009's CHECK makes a job
-- running exactly when locked_by and locked_until are both set (locked_by
-- alone is not enough: the CHECK allows it on a job that is not running), so
-- the two say the same, and without "status = 'running'" the planner looks
-- the jobs up by primary key instead of scanning the partial lease index,
-- which holds an entry for every job claimed since the last vacuum (a batch
-- cost twice as much that way).

CREATE FUNCTION jobs_complete_many(p_worker text, p_ids uuid[], p_attempts integer[], p_results jsonb[])
RETURNS SETOF uuid
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  -- unnest pads short arrays with NULLs: refuse rather than record a NULL result.
  IF cardinality(p_ids) IS DISTINCT FROM cardinality(p_attempts) OR cardinality(p_ids) IS DISTINCT FROM cardinality(p_results) THEN
    RAISE EXCEPTION 'ids, attempts and results must have one element per job' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  RETURN QUERY
  UPDATE background_jobs j
  SET status = 'succeeded', result = l.result, finished_at = now(), last_error = NULL,
      locked_by = NULL, locked_until = NULL
  FROM unnest(p_ids, p_attempts, p_results) AS l(id, attempt, result)
  WHERE j.id = l.id AND j.attempts = l.attempt AND j.locked_by = p_worker AND j.locked_until IS NOT NULL
  RETURNING j.id;
END $$;

-- Failed attempts, each retried after its delay or dead-lettered as jobs_fail
-- decides. Returns the jobs whose lease was held, with their new status.
CREATE FUNCTION jobs_fail_many(p_worker text, p_ids uuid[], p_attempts integer[], p_errors text[], p_retry boolean[],
                               p_retry_delay_ms integer[])
RETURNS TABLE (id uuid, status varchar)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
#variable_conflict use_column
DECLARE
  n integer := cardinality(p_ids);
BEGIN
  IF n IS DISTINCT FROM cardinality(p_attempts) OR n IS DISTINCT FROM cardinality(p_errors)
     OR n IS DISTINCT FROM cardinality(p_retry) OR n IS DISTINCT FROM cardinality(p_retry_delay_ms) THEN
    RAISE EXCEPTION 'ids, attempts, errors, retry and retry delays must have one element per job' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  RETURN QUERY
  UPDATE background_jobs j
  SET status = CASE WHEN l.retry AND j.attempts < j.max_attempts THEN 'failed' ELSE 'dead' END,
      finished_at = CASE WHEN l.retry AND j.attempts < j.max_attempts THEN NULL ELSE now() END,
      run_at = CASE WHEN l.retry AND j.attempts < j.max_attempts
                    THEN now() + make_interval(secs => greatest(l.delay_ms, 0) / 1000.0) ELSE j.run_at END,
      last_error = left(coalesce(l.error, 'failed without a message'), 4000),
      locked_by = NULL, locked_until = NULL
  FROM unnest(p_ids, p_attempts, p_errors, p_retry, p_retry_delay_ms) AS l(id, attempt, error, retry, delay_ms)
  WHERE j.id = l.id AND j.attempts = l.attempt AND j.locked_by = p_worker AND j.locked_until IS NOT NULL
  RETURNING j.id, j.status;
END $$;

-- The claim of 0009 joined the picked ids back to the table; with a claim of a
-- few hundred jobs (a worker that prefetches) the planner chose a hash join
-- over a sequential scan of the whole table (4 ms at 20,000 rows, growing with
-- the table). The same claim by an id array is an index lookup per job at any
-- size. Same signature, answer and order; owner and grants are kept.
CREATE OR REPLACE FUNCTION jobs_claim(p_worker text, p_queues text[], p_limit integer, p_lease_ms integer)
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
  WITH claimed AS (
    UPDATE background_jobs j
    SET status = 'running', attempts = j.attempts + 1, locked_by = p_worker,
        locked_until = now() + make_interval(secs => p_lease_ms / 1000.0)
    WHERE j.id = ANY (ARRAY(
      SELECT p.id FROM background_jobs p
      WHERE p.status IN ('queued', 'failed') AND p.run_at <= now()
        AND (p_queues IS NULL OR p.queue = ANY (p_queues))
      ORDER BY p.priority DESC, p.run_at, p.id
      LIMIT p_limit
      FOR UPDATE SKIP LOCKED))
    RETURNING j.id, j.org_id, j.queue, j.task, j.payload, j.priority, j.attempts, j.max_attempts,
              j.run_at, j.locked_until, j.created_at
  )
  SELECT c.id, c.org_id, c.queue, c.task, c.payload, c.priority, c.attempts, c.max_attempts,
         c.run_at, c.locked_until, c.created_at
  FROM claimed c ORDER BY c.priority DESC, c.run_at, c.id;
END $$;

-- ------------------------------------------------------------ cron schedules
-- A schedule enqueues one job per cron slot. next_run_at is the next slot,
-- computed by the application (src/jobs/cron.ts: a 5-field expression in the
-- schedule's IANA time zone). The scheduler (src/jobs/scheduler.ts) finds due
-- schedules of every organization through job_schedules_due below, then, in
-- the schedule's own tenant transaction, locks the row only if next_run_at is
-- still that slot (FOR UPDATE SKIP LOCKED), enqueues the job with the
-- idempotency key schedule:<id>:<slot> and advances next_run_at: several
-- processes running the scheduler enqueue each slot once.
CREATE TABLE job_schedules (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  name varchar(100) NOT NULL CHECK (length(name) >= 1),
  cron varchar(100) NOT NULL,
  timezone varchar(64) NOT NULL DEFAULT 'UTC',
  queue varchar(100) NOT NULL CHECK (queue ~ '^[a-z0-9][a-z0-9._:-]*$'),
  task varchar(200) NOT NULL CHECK (task ~ '^[A-Za-z0-9][A-Za-z0-9._:/-]*$'),
  payload jsonb NOT NULL DEFAULT '{}',
  priority integer NOT NULL DEFAULT 0 CHECK (priority BETWEEN -1000 AND 1000),
  max_attempts integer NOT NULL DEFAULT 5 CHECK (max_attempts BETWEEN 1 AND 100),
  enabled boolean NOT NULL DEFAULT true,
  next_run_at timestamptz NOT NULL,
  last_run_at timestamptz,
  -- Not a foreign key: finished jobs are pruned (pruneFinishedJobs), the schedule stays.
  last_job_id uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (org_id, name)
);
CREATE TRIGGER job_schedules_touch BEFORE UPDATE ON job_schedules FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
CREATE INDEX idx_job_schedules_due ON job_schedules (next_run_at) WHERE enabled;

GRANT SELECT, INSERT, UPDATE, DELETE ON job_schedules TO agentbase_app;
ALTER TABLE job_schedules ENABLE ROW LEVEL SECURITY;
ALTER TABLE job_schedules FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON job_schedules TO agentbase_app
  USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org());

-- Finding due schedules is a cross-tenant read, like claiming jobs: the owner
-- of the function below reads only the columns that say what is due.
GRANT SELECT (id, org_id, enabled, next_run_at) ON job_schedules TO agentbase_auth;
CREATE POLICY scheduler_read ON job_schedules FOR SELECT TO agentbase_auth USING (true);

CREATE FUNCTION job_schedules_due(p_now timestamptz, p_limit integer)
RETURNS TABLE (id uuid, org_id uuid, next_run_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT s.id, s.org_id, s.next_run_at FROM job_schedules s
  WHERE s.enabled AND s.next_run_at <= p_now
  ORDER BY s.next_run_at, s.id
  LIMIT least(greatest(p_limit, 0), 1000)
$$;

DO $$
DECLARE f text;
BEGIN
  FOREACH f IN ARRAY ARRAY['jobs_complete_many(text, uuid[], integer[], jsonb[])',
                           'jobs_fail_many(text, uuid[], integer[], text[], boolean[], integer[])',
                           'job_schedules_due(timestamptz, integer)'] LOOP
    EXECUTE format('ALTER FUNCTION %s OWNER TO agentbase_auth', f);
    EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
    EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO agentbase_app', f);
  END LOOP;
END $$;

-- ----------------------------------------------------------------- retention
-- Finished jobs are deleted past their retention, one organization at a time
-- under its own RLS (src/jobs/prune.ts).
GRANT DELETE ON background_jobs TO agentbase_app;

-- --------------------------------------------------------------- permissions
-- Jobs had reused executions:read/write. Built-in roles get the new ones the
-- same way: viewers read, members act (and the roles above inherit them).
INSERT INTO permissions (resource, action, description) VALUES
  ('jobs', 'read', 'Read background jobs and job schedules'),
  ('jobs', 'write', 'Cancel and redrive jobs; create, change and delete job schedules');
INSERT INTO role_permissions (role_id, permission_id)
SELECT r.id, p.id FROM roles r JOIN permissions p ON p.resource = 'jobs'
  AND ((r.name = 'viewer' AND p.action = 'read') OR (r.name = 'member' AND p.action = 'write'))
WHERE r.org_id IS NULL;
-- Nobody loses access they had: an organization's own role holding
-- executions:<action>, and an API key scoped to it, gain jobs:<action>.
INSERT INTO role_permissions (role_id, permission_id, org_id)
SELECT rp.role_id, pj.id, rp.org_id
FROM role_permissions rp
JOIN permissions pe ON pe.id = rp.permission_id AND pe.resource = 'executions'
JOIN permissions pj ON pj.resource = 'jobs' AND pj.action = pe.action
WHERE rp.org_id IS NOT NULL
ON CONFLICT DO NOTHING;
UPDATE api_keys k SET scopes = k.scopes || ARRAY(
  SELECT 'jobs:' || split_part(s, ':', 2) FROM unnest(k.scopes) AS s
  WHERE s IN ('executions:read', 'executions:write') AND NOT ('jobs:' || split_part(s, ':', 2)) = ANY (k.scopes)
)
WHERE k.scopes && ARRAY['executions:read', 'executions:write']::text[];
