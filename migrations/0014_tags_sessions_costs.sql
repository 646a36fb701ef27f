-- 0014: tags on runs and telemetry, one notion of session, costs by provider
-- and by tag (issue 11).
--
-- Tags are short labels an application puts on its work ("checkout", "beta",
-- "eu") to slice lists and costs by; metadata (already on executions and
-- decisions, new on messages) holds key/value context filtered by key
-- equality (metadata @> '{"k": "v"}'). Both have GIN indexes, partial so
-- untagged rows cost nothing to index.
--
-- Sessions: the runtime's conversation sessions (user_sessions rows) and the
-- free-text session id of ingested items become one thing. An ingested
-- session key names a user_sessions row (its session_token), created on first
-- sight with origin 'ingest'; executions, ledger rows, decisions and messages
-- then store the row's id. Rows ingested before this migration keep the key
-- they were sent with: readers match a session by its id and by its token.
--
-- Costs: cost_daily gains the 'provider' and 'tag' dimensions. The ledger
-- copies the tags of the span's execution into its tags (seed 000's jsonb
-- column, a JSON array here) when the span is priced (a ledger row
-- is never re-tagged), and a row counts once under each of its tags.

ALTER TABLE executions ADD COLUMN tags text[] NOT NULL DEFAULT '{}'
  CHECK (cardinality(tags) <= 20);
CREATE INDEX idx_executions_tags ON executions USING gin (tags) WHERE cardinality(tags) > 0;
CREATE INDEX idx_executions_metadata ON executions USING gin (metadata jsonb_path_ops) WHERE metadata <> '{}';
-- The timeline of a session reads its executions in time order.
DROP INDEX idx_executions_session;
CREATE INDEX idx_executions_session ON executions (org_id, session_id, created_at) WHERE session_id IS NOT NULL;
-- Subtree roll-ups walk parent → children.
CREATE INDEX idx_executions_parent ON executions (org_id, parent_execution_id) WHERE parent_execution_id IS NOT NULL;

ALTER TABLE agent_decisions ADD COLUMN tags text[] NOT NULL DEFAULT '{}'
  CHECK (cardinality(tags) <= 20);
CREATE INDEX idx_agent_decisions_tags ON agent_decisions USING gin (tags) WHERE cardinality(tags) > 0;
CREATE INDEX idx_agent_decisions_metadata ON agent_decisions USING gin (decision_metadata jsonb_path_ops)
  WHERE decision_metadata IS NOT NULL;

ALTER TABLE agent_communications
  ADD COLUMN tags text[] NOT NULL DEFAULT '{}' CHECK (cardinality(tags) <= 20),
  ADD COLUMN metadata jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object');
CREATE INDEX idx_agent_communications_tags ON agent_communications USING gin (tags) WHERE cardinality(tags) > 0;
CREATE INDEX idx_agent_communications_metadata ON agent_communications USING gin (metadata jsonb_path_ops)
  WHERE metadata <> '{}';
DROP INDEX idx_agent_communications_session;
CREATE INDEX idx_agent_communications_session ON agent_communications (org_id, session_id, sent_at)
  WHERE session_id IS NOT NULL;

-- Where a session came from: POST /v1/sessions ('api') or first sight of its
-- key in ingested telemetry ('ingest').
ALTER TABLE user_sessions ADD COLUMN origin varchar(10) NOT NULL DEFAULT 'api'
  CHECK (origin IN ('api', 'ingest'));

-- Seed 000 cost_tracking.tags (jsonb, added by 0007 and unused until now)
-- holds the execution's tags as a JSON array of strings.

ALTER TABLE cost_daily DROP CONSTRAINT cost_daily_dimension_check;
ALTER TABLE cost_daily ADD CONSTRAINT cost_daily_dimension_check
  CHECK (dimension IN ('total', 'model', 'provider', 'agent', 'user', 'session', 'plan', 'user_plan', 'tag'));

CREATE OR REPLACE FUNCTION cost_daily_apply(old_rows cost_ledger[], new_rows cost_ledger[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  -- Sum per distinct key combination first (a batch has few), then fan out to the dimensions.
  WITH l AS (
    SELECT r.org_id, r.billing_date, r.model_provider, r.model_name, r.agent_id, r.user_id, r.session_id, r.plan_id, r.tags,
      sum(r.sign * r.total_cost_usd) AS cost, sum(r.sign * coalesce(r.alternative_cost_usd, 0)) AS alt,
      sum(r.sign * coalesce(r.savings_usd, 0)) AS savings, sum(r.sign * r.prompt_tokens) AS prompt,
      sum(r.sign * r.completion_tokens) AS completion, sum(r.sign * r.cached_tokens) AS cached,
      sum(r.sign * r.cache_write_tokens) AS cache_write, sum(r.sign * r.reasoning_tokens) AS reasoning,
      sum(r.sign * r.total_tokens) AS total, sum(r.sign) AS spans
    FROM (
      SELECT -1 AS sign, o.* FROM unnest(old_rows) o
      UNION ALL
      SELECT 1 AS sign, n.* FROM unnest(new_rows) n
    ) r
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
  )
  INSERT INTO cost_daily AS d (org_id, dimension, day, key, shard, cost_usd, alternative_cost_usd, savings_usd,
    prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens, reasoning_tokens, total_tokens, spans)
  SELECT l.org_id, k.dimension, l.billing_date, k.key, (pg_backend_pid() % 4)::smallint,
    sum(l.cost), sum(l.alt), sum(l.savings), sum(l.prompt), sum(l.completion), sum(l.cached),
    sum(l.cache_write), sum(l.reasoning), sum(l.total), sum(l.spans)
  FROM l
  CROSS JOIN LATERAL (
    VALUES
      ('total', ''),
      ('model', l.model_name),
      ('provider', l.model_provider),
      ('agent', coalesce(l.agent_id::text, '')),
      ('user', coalesce(l.user_id::text, '')),
      ('session', coalesce(l.session_id, '')),
      ('plan', coalesce(l.plan_id::text, '')),
      ('user_plan', CASE WHEN l.plan_id IS NULL THEN NULL ELSE coalesce(l.user_id::text, '') || '/' || l.plan_id END)
    UNION ALL
    SELECT DISTINCT 'tag', t FROM jsonb_array_elements_text(CASE WHEN jsonb_typeof(l.tags) = 'array' THEN l.tags ELSE '[]' END) AS t
  ) AS k(dimension, key)
  WHERE k.key IS NOT NULL
  GROUP BY l.org_id, k.dimension, l.billing_date, k.key
  ORDER BY l.org_id, k.dimension, l.billing_date, k.key
  ON CONFLICT (org_id, dimension, day, key, shard) DO UPDATE SET
    cost_usd = d.cost_usd + EXCLUDED.cost_usd,
    alternative_cost_usd = d.alternative_cost_usd + EXCLUDED.alternative_cost_usd,
    savings_usd = d.savings_usd + EXCLUDED.savings_usd,
    prompt_tokens = d.prompt_tokens + EXCLUDED.prompt_tokens,
    completion_tokens = d.completion_tokens + EXCLUDED.completion_tokens,
    cached_tokens = d.cached_tokens + EXCLUDED.cached_tokens,
    cache_write_tokens = d.cache_write_tokens + EXCLUDED.cache_write_tokens,
    reasoning_tokens = d.reasoning_tokens + EXCLUDED.reasoning_tokens,
    total_tokens = d.total_tokens + EXCLUDED.total_tokens,
    spans = d.spans + EXCLUDED.spans;
END
$$;

-- The provider dimension of what the ledger already holds. RLS is lifted for
-- the owner inside this transaction only: the policies name agentbase_app, so
-- a non-superuser owner would otherwise see no tenant's rows.
ALTER TABLE cost_ledger NO FORCE ROW LEVEL SECURITY;
ALTER TABLE cost_daily NO FORCE ROW LEVEL SECURITY;
INSERT INTO cost_daily (org_id, dimension, day, key, shard, cost_usd, alternative_cost_usd, savings_usd,
  prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens, reasoning_tokens, total_tokens, spans)
SELECT org_id, 'provider', billing_date, model_provider, 0, sum(total_cost_usd), sum(coalesce(alternative_cost_usd, 0)),
  sum(coalesce(savings_usd, 0)), sum(prompt_tokens), sum(completion_tokens), sum(cached_tokens),
  sum(cache_write_tokens), sum(reasoning_tokens), sum(total_tokens), count(*)
FROM cost_ledger
GROUP BY org_id, billing_date, model_provider;
ALTER TABLE cost_ledger FORCE ROW LEVEL SECURITY;
ALTER TABLE cost_daily FORCE ROW LEVEL SECURITY;
