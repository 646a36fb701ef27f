-- Evals (seed 002 eval_suites, eval_test_cases, eval_runs, eval_results):
-- suites of test cases per agent, runs of a suite against one agent version
-- (each case run through the agent runtime by a job), a scored result per
-- case, and the evals:read / evals:write / evals:override permissions.
--
-- Reconciled with the seed:
-- - organization_id is org_id (first column of every index, RLS as 0018/0019);
--   ids are UUIDv7 from the service.
-- - Scores are 0..1 (a case passes when its score is at least the case's
--   threshold): numeric(5,4), not the seed's DECIMAL(5,2), which would round
--   0.875 to 0.88 and make a threshold of 0.875 unreachable.
-- - eval_results.execution_id has no foreign key: executions is partitioned
--   (its key is (id, created_at)), and telemetry outlives what it describes
--   (as agent_decisions.execution_id in 0006).
-- - Suites and cases are soft-deleted (deleted_at) so past runs keep their
--   cases; both carry the optimistic lock `version`.
-- - Run statuses: the seed's pending, running, completed, failed plus
--   cancelled. Result statuses: the seed's passed, failed, error plus pending,
--   running (results are written when the run starts: they are its progress)
--   and cancelled (a cancelled run's cases that never ran).

-- ---------------------------------------------------------------- suites
CREATE TABLE eval_suites (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  agent_id uuid REFERENCES agents (id) ON DELETE SET NULL,
  name varchar(255) NOT NULL CHECK (length(btrim(name)) > 0),
  description text,
  -- the run figure the gate compares with pass_threshold
  gate_metric varchar(20) NOT NULL DEFAULT 'pass_rate' CHECK (gate_metric IN ('pass_rate', 'average_score')),
  pass_threshold numeric(5, 4) NOT NULL DEFAULT 1 CHECK (pass_threshold >= 0 AND pass_threshold <= 1),
  -- required: promoting a version needs a completed run of it at the threshold;
  -- if_run: only a completed run below the threshold refuses; off: never gates
  gate varchar(20) NOT NULL DEFAULT 'required' CHECK (gate IN ('required', 'if_run', 'off')),
  config jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(config) = 'object'),
  created_by uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz,
  version integer NOT NULL DEFAULT 1
);
-- seed: idx_eval_suites_organization_id (organization_id); also GET /v1/eval-suites, newest first
CREATE INDEX idx_eval_suites_organization_id ON eval_suites (org_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;
-- seed: idx_eval_suites_agent_id (agent_id); the gate reads an agent's suites
CREATE INDEX idx_eval_suites_agent_id ON eval_suites (org_id, agent_id) WHERE deleted_at IS NULL;

-- ------------------------------------------------------------ test cases
CREATE TABLE eval_test_cases (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  suite_id uuid NOT NULL REFERENCES eval_suites (id) ON DELETE CASCADE,
  name varchar(255) NOT NULL CHECK (length(btrim(name)) > 0),
  description text,
  -- a user message (string) or a list of {role, content} messages
  input jsonb NOT NULL CHECK (jsonb_typeof(input) IN ('string', 'array')),
  expected_output jsonb,
  -- how the output is scored: {"type": "exact" | "contains" | "regex" | "json_schema" | "numeric" | "embedding_similarity" | "llm_judge", ...}
  scorer jsonb NOT NULL CHECK (jsonb_typeof(scorer) = 'object' AND scorer ? 'type'),
  -- what an llm_judge grades against (text or structured criteria)
  scoring_rubric jsonb,
  pass_threshold numeric(5, 4) NOT NULL CHECK (pass_threshold >= 0 AND pass_threshold <= 1),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz,
  version integer NOT NULL DEFAULT 1
);
-- seed: idx_eval_test_cases_suite_id (suite_id); cases in creation order
CREATE INDEX idx_eval_test_cases_suite_id ON eval_test_cases (org_id, suite_id, created_at, id) WHERE deleted_at IS NULL;

-- ------------------------------------------------------------------ runs
CREATE TABLE eval_runs (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  suite_id uuid NOT NULL REFERENCES eval_suites (id) ON DELETE CASCADE,
  agent_id uuid NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  agent_version_id uuid REFERENCES agent_versions (id),
  status varchar(50) NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
  -- cases run at once (the number of job chains working the run)
  concurrency smallint NOT NULL CHECK (concurrency BETWEEN 1 AND 50),
  total_tests integer NOT NULL DEFAULT 0 CHECK (total_tests >= 0),
  passed_tests integer NOT NULL DEFAULT 0 CHECK (passed_tests >= 0),
  failed_tests integer NOT NULL DEFAULT 0 CHECK (failed_tests >= 0),
  -- cases whose run or scoring failed (they count as failed, score 0)
  error_tests integer NOT NULL DEFAULT 0 CHECK (error_tests >= 0),
  average_score numeric(5, 4) CHECK (average_score >= 0 AND average_score <= 1),
  pass_rate numeric(5, 4) CHECK (pass_rate >= 0 AND pass_rate <= 1),
  cost_usd numeric(12, 6) NOT NULL DEFAULT 0 CHECK (cost_usd >= 0),
  total_tokens bigint NOT NULL DEFAULT 0 CHECK (total_tokens >= 0),
  latency_p50_ms integer CHECK (latency_p50_ms >= 0),
  latency_p95_ms integer CHECK (latency_p95_ms >= 0),
  error text,
  created_by uuid REFERENCES users (id) ON DELETE SET NULL,
  started_at timestamptz,
  completed_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (passed_tests + failed_tests + error_tests <= total_tests)
);
-- seed: idx_eval_runs_suite_id (suite_id); a suite's runs, newest first
CREATE INDEX idx_eval_runs_suite_id ON eval_runs (org_id, suite_id, created_at DESC, id DESC);
-- seed: idx_eval_runs_agent_id (agent_id)
CREATE INDEX idx_eval_runs_agent_id ON eval_runs (org_id, agent_id, created_at DESC);
-- the gate: a version's latest completed run of a suite
CREATE INDEX idx_eval_runs_gate ON eval_runs (org_id, suite_id, agent_version_id, completed_at DESC) WHERE status = 'completed';

-- --------------------------------------------------------------- results
CREATE TABLE eval_results (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  run_id uuid NOT NULL REFERENCES eval_runs (id) ON DELETE CASCADE,
  test_case_id uuid NOT NULL REFERENCES eval_test_cases (id) ON DELETE CASCADE,
  execution_id uuid,
  status varchar(50) NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'running', 'passed', 'failed', 'error', 'cancelled')),
  score numeric(5, 4) CHECK (score >= 0 AND score <= 1),
  actual_output jsonb,
  feedback text,
  -- what the scorer saw (the judge's reasoning and execution, a similarity, a schema's errors)
  details jsonb,
  cost_usd numeric(12, 6) CHECK (cost_usd >= 0),
  total_tokens integer CHECK (total_tokens >= 0),
  latency_ms integer CHECK (latency_ms >= 0),
  -- the job that runs (ran) the case: a redelivered job finds its own case again
  job_id uuid,
  started_at timestamptz,
  completed_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT unique_case_per_run UNIQUE (org_id, run_id, test_case_id),
  CHECK ((score IS NOT NULL) = (status IN ('passed', 'failed', 'error')))
);
-- seed: idx_eval_results_run_id (run_id); the next pending case of a run, a run's progress
CREATE INDEX idx_eval_results_run_id ON eval_results (org_id, run_id, status);
-- seed: idx_eval_results_test_case_id (test_case_id)
CREATE INDEX idx_eval_results_test_case_id ON eval_results (org_id, test_case_id, created_at DESC);
CREATE INDEX idx_eval_results_job ON eval_results (org_id, job_id) WHERE job_id IS NOT NULL;

-- ----------------------------------------------------------- permissions
INSERT INTO permissions (resource, action, description) VALUES
  ('evals', 'read', 'Read eval suites, cases, runs and results, and compare runs'),
  ('evals', 'write', 'Create, change and delete eval suites and cases; start and cancel eval runs'),
  ('evals', 'override', 'Promote an agent version past a failing eval gate (force)');
INSERT INTO role_permissions (role_id, permission_id)
SELECT r.id, p.id FROM roles r JOIN permissions p ON
  (r.name = 'viewer' AND (p.resource, p.action) IN (('evals', 'read')))
  OR (r.name = 'member' AND (p.resource, p.action) IN (('evals', 'write')))
  OR (r.name = 'admin' AND (p.resource, p.action) IN (('evals', 'override')))
WHERE r.org_id IS NULL;

-- ------------------------------------------------------ privileges + RLS
GRANT SELECT, INSERT, UPDATE, DELETE ON eval_suites, eval_test_cases, eval_runs, eval_results TO agentbase_app;
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['eval_suites', 'eval_test_cases', 'eval_runs', 'eval_results'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I TO agentbase_app USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org())', t);
  END LOOP;
END $$;
