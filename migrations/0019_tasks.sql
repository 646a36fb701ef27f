-- The task domain of seed 004: projects, lists and tasks, with the seed's
-- indexes (led by org_id where that keeps them useful under row-level
-- security), full text through a SECURITY DEFINER function (as in 0016), and
-- the tasks:read / tasks:write permissions.
--
-- Conventions here:
-- - status: todo | in_progress | blocked | completed | cancelled. completed_at
--   is set exactly while the status is completed.
-- - priority: smallint 0..4 — 0 none, 1 low, 2 medium, 3 high, 4 urgent — so
--   "ORDER BY priority DESC" is the order of urgency.
-- - version: the optimistic lock, moved by the service on each change of the
--   row's own fields (a PATCH, a move of that task); not by a neighbour's move
--   shifting its position, so a move never makes someone's edit stale.
-- - Soft deletes: deleted_at. A deleted task leaves its list (position NULL).

-- ---------------------------------------------------------------- projects
CREATE TABLE projects (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name varchar(255) NOT NULL CHECK (length(btrim(name)) > 0),
  description text,
  color varchar(7) CHECK (color ~ '^#[0-9a-fA-F]{6}$'),
  archived_at timestamptz,
  deleted_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  version integer NOT NULL DEFAULT 1
);
-- seed: idx_projects_user_updated (user_id, updated_at)
CREATE INDEX idx_projects_user_updated ON projects (org_id, user_id, updated_at);
-- GET /v1/projects: newest first, keyset (created_at, id)
CREATE INDEX idx_projects_org_created ON projects (org_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;

-- ------------------------------------------------------------------- lists
CREATE TABLE lists (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  project_id uuid REFERENCES projects (id) ON DELETE CASCADE,
  name varchar(255) NOT NULL CHECK (length(btrim(name)) > 0),
  list_order integer CHECK (list_order >= 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz,
  version integer NOT NULL DEFAULT 1
);
-- seed: idx_lists_user_project (user_id, project_id, created_at)
CREATE INDEX idx_lists_user_project ON lists (org_id, user_id, project_id, created_at);
-- seed: idx_lists_project_order (project_id, list_order) WHERE list_order IS NOT NULL
CREATE INDEX idx_lists_project_order ON lists (org_id, project_id, list_order) WHERE list_order IS NOT NULL;
-- GET /v1/lists: newest first, keyset (created_at, id)
CREATE INDEX idx_lists_org_created ON lists (org_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;

-- ------------------------------------------------------------------- tasks
-- search_vector is a stored generated column, not the seed's expression index
-- on to_tsvector(title || ' ' || coalesce(description, '')): ranking
-- (ts_rank) needs the tsvector of every matching row, and with only an
-- expression index it would parse each matching title and description again
-- on every search; stored, it is read. The GIN index is on the same words.
CREATE TABLE tasks (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  project_id uuid REFERENCES projects (id) ON DELETE CASCADE,
  list_id uuid REFERENCES lists (id) ON DELETE CASCADE,
  title varchar(500) NOT NULL CHECK (length(btrim(title)) > 0),
  description text,
  status varchar(20) NOT NULL DEFAULT 'todo'
    CHECK (status IN ('todo', 'in_progress', 'blocked', 'completed', 'cancelled')),
  priority smallint NOT NULL DEFAULT 0 CHECK (priority BETWEEN 0 AND 4),
  due_date date,
  position_in_list integer CHECK (position_in_list >= 0),
  completed_at timestamptz,
  search_vector tsvector GENERATED ALWAYS AS (
    to_tsvector('english', title || ' ' || coalesce(description, ''))
  ) STORED,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz,
  version integer NOT NULL DEFAULT 1,
  -- a live task in a list has a position; any other task has none
  CHECK ((position_in_list IS NOT NULL) = (list_id IS NOT NULL AND deleted_at IS NULL)),
  CHECK ((completed_at IS NOT NULL) = (status = 'completed')),
  -- seed: idx_tasks_list_position (list_id, position_in_list) WHERE position_in_list IS NOT NULL.
  -- As a constraint it also proves positions unique in a list (NULLs never
  -- collide). DEFERRED: a move shifts a run of positions by one in a single
  -- UPDATE, which passes through duplicates row by row; checked at commit.
  CONSTRAINT idx_tasks_list_position UNIQUE (org_id, list_id, position_in_list) DEFERRABLE INITIALLY DEFERRED
);
-- seed: idx_tasks_user_status_updated (user_id, status, updated_at)
CREATE INDEX idx_tasks_user_status_updated ON tasks (org_id, user_id, status, updated_at);
-- seed: idx_tasks_project_priority (project_id, priority, created_at)
CREATE INDEX idx_tasks_project_priority ON tasks (org_id, project_id, priority, created_at);
-- seed: idx_tasks_due_date_status (due_date, status) WHERE due_date IS NOT NULL
CREATE INDEX idx_tasks_due_date_status ON tasks (org_id, due_date, status) WHERE due_date IS NOT NULL;
-- seed: idx_tasks_search_text. A GIN index cannot lead with org_id (no
-- btree_gin); the search function filters by org after the index.
CREATE INDEX idx_tasks_search_text ON tasks USING gin (search_vector) WHERE deleted_at IS NULL;
-- seed: idx_tasks_active (user_id, updated_at) WHERE status != 'completed'
CREATE INDEX idx_tasks_active ON tasks (org_id, user_id, updated_at) WHERE status <> 'completed';
-- seed: idx_tasks_overdue (user_id, due_date) WHERE due_date < CURRENT_DATE AND status != 'completed'.
-- PostgreSQL refuses CURRENT_DATE in an index predicate (it is not immutable:
-- the index would be right on the day it was built and wrong the next). The
-- predicate keeps the part that does not move with time — open tasks that
-- have a due date — and the query adds `due_date < current_date`, a range on
-- the index's second column. Cancelled tasks are not overdue either.
CREATE INDEX idx_tasks_overdue ON tasks (org_id, user_id, due_date)
  WHERE status NOT IN ('completed', 'cancelled') AND due_date IS NOT NULL AND deleted_at IS NULL;
-- GET /v1/tasks: newest first, keyset (created_at, id)
CREATE INDEX idx_tasks_org_created ON tasks (org_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;

-- ---------------------------------------------------------------- permissions
INSERT INTO permissions (resource, action, description) VALUES
  ('tasks', 'read', 'Read and search projects, lists and tasks'),
  ('tasks', 'write', 'Create, change, move and delete projects, lists and tasks');
INSERT INTO role_permissions (role_id, permission_id)
SELECT r.id, p.id FROM roles r JOIN permissions p ON
  (r.name = 'viewer' AND (p.resource, p.action) IN (('tasks', 'read')))
  OR (r.name = 'member' AND (p.resource, p.action) IN (('tasks', 'write')))
WHERE r.org_id IS NULL;

-- ---------------------------------------------------------- privileges + RLS
GRANT SELECT, INSERT, UPDATE, DELETE ON projects, lists, tasks TO agentbase_app;
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['projects', 'lists', 'tasks'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I TO agentbase_app USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org())', t);
  END LOOP;
END $$;

-- ------------------------------------------------------------- full text
-- As knowledge_text_hits (0016): for agentbase_app, RLS keeps the GIN index
-- out of reach (@@ is not leakproof), so the words are matched by a SECURITY
-- DEFINER function owned by agentbase_auth, whose policy on tasks is `true`.
-- It confines itself to the transaction's tenant (app_current_org(); none set
-- returns nothing) and returns ids and scores only; the caller reads the rows
-- back under its own RLS.
CREATE POLICY search_read ON tasks FOR SELECT TO agentbase_auth USING (true);
GRANT SELECT (id, org_id, user_id, project_id, list_id, status, due_date, deleted_at, search_vector) ON tasks TO agentbase_auth;

-- The org's live tasks matching a websearch query and the filters, best first
-- by ts_rank, at most p_limit, each with how many matches were ranked. At most
-- p_max_ranked matches are ranked (the first the index finds); the caller says
-- when the ranking was partial. p_overdue: due before today and neither
-- completed nor cancelled. EXECUTE … USING plans each call with its values;
-- nothing is interpolated into the statement's text.
CREATE FUNCTION task_text_hits(p_query text, p_user_id uuid, p_project_id uuid, p_list_id uuid, p_status text,
                               p_due_before date, p_overdue boolean, p_limit integer, p_max_ranked integer)
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
       FROM (SELECT t.id, t.search_vector FROM tasks t
              WHERE t.org_id = $2 AND t.deleted_at IS NULL AND t.search_vector @@ websearch_to_tsquery(''english'', $1)'
    || CASE WHEN p_user_id IS NULL THEN '' ELSE ' AND t.user_id = $3' END
    || CASE WHEN p_project_id IS NULL THEN '' ELSE ' AND t.project_id = $4' END
    || CASE WHEN p_list_id IS NULL THEN '' ELSE ' AND t.list_id = $5' END
    || CASE WHEN p_status IS NULL THEN '' ELSE ' AND t.status = $6' END
    || CASE WHEN p_due_before IS NULL THEN '' ELSE ' AND t.due_date < $7' END
    || CASE WHEN p_overdue IS NOT TRUE THEN ''
            ELSE ' AND t.due_date < current_date AND t.status NOT IN (''completed'', ''cancelled'')' END
    || ' LIMIT $9) c ORDER BY 2 DESC, c.id LIMIT $8'
    USING p_query, org, p_user_id, p_project_id, p_list_id, p_status, p_due_before, p_limit, p_max_ranked;
END $$;
ALTER FUNCTION task_text_hits(text, uuid, uuid, uuid, text, date, boolean, integer, integer) OWNER TO agentbase_auth;
REVOKE ALL ON FUNCTION task_text_hits(text, uuid, uuid, uuid, text, date, boolean, integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION task_text_hits(text, uuid, uuid, uuid, text, date, boolean, integer, integer) TO agentbase_app;
