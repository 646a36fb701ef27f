-- Full-text search that can use its GIN index under row-level security.
--
-- Under RLS the planner may evaluate a query's own conditions before the
-- policy's only when they are LEAKPROOF, and an index condition is evaluated
-- first. `tsvector @@ tsquery` (like `@>` on arrays and jsonb) is not
-- leakproof, so for agentbase_app every GIN index is unusable and a knowledge
-- search read every item of the organization: ~1 s at a million items.
-- Marking PostgreSQL's functions LEAKPROOF needs a superuser, which a managed
-- server does not give.
--
-- Instead the matching runs in a SECURITY DEFINER function owned by
-- agentbase_auth, whose policy on knowledge_items is `true`: for it @@ is an
-- index condition. The function filters by the transaction's tenant itself
-- (app_current_org(); none set returns nothing) and returns ids and scores
-- only; the caller reads the items it keeps under its own RLS, so an id from
-- another tenant could not come back as a row even if this function were wrong.

CREATE POLICY search_read ON knowledge_items FOR SELECT TO agentbase_auth USING (true);
GRANT SELECT (id, org_id, deleted_at, domain, tags, confidence, search_vector) ON knowledge_items TO agentbase_auth;

-- The org's live items matching a websearch query, best first by ts_rank,
-- at most p_limit, each with how many matches were ranked. A query matching
-- more than p_max_ranked items ranks the first p_max_ranked the index finds
-- (ranking reads every matching row: a word in 30 % of a million items would
-- take ~1 s); the caller reports that the ranking was partial. EXECUTE … USING
-- plans each call with the values (a custom plan): how many rows the words
-- match decides between the GIN index and a scan that stops early. Nothing is
-- interpolated into the statement's text.
CREATE FUNCTION knowledge_text_hits(p_query text, p_domain text, p_tags text[], p_min_confidence numeric, p_limit integer, p_max_ranked integer)
RETURNS TABLE (id uuid, text_score real, ranked bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  org uuid := app_current_org();
BEGIN
  IF org IS NULL THEN
    RETURN;
  END IF;
  RETURN QUERY EXECUTE
    'SELECT c.id, ts_rank(c.search_vector, websearch_to_tsquery(''english'', $1)), count(*) OVER ()
       FROM (SELECT k.id, k.search_vector FROM knowledge_items k
              WHERE k.org_id = $2 AND k.deleted_at IS NULL AND k.search_vector @@ websearch_to_tsquery(''english'', $1)'
    || CASE WHEN p_domain IS NULL THEN '' ELSE ' AND k.domain = $3' END
    || CASE WHEN p_tags IS NULL OR cardinality(p_tags) = 0 THEN '' ELSE ' AND k.tags @> $4' END
    || CASE WHEN p_min_confidence IS NULL THEN '' ELSE ' AND k.confidence >= $5' END
    || ' LIMIT $7) c ORDER BY 2 DESC, c.id LIMIT $6'
    USING p_query, org, p_domain, p_tags, p_min_confidence, p_limit, p_max_ranked;
END $$;
ALTER FUNCTION knowledge_text_hits(text, text, text[], numeric, integer, integer) OWNER TO agentbase_auth;
REVOKE ALL ON FUNCTION knowledge_text_hits(text, text, text[], numeric, integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION knowledge_text_hits(text, text, text[], numeric, integer, integer) TO agentbase_app;
