-- 0021: the channel-mix check of 0018 locks the campaign's row FOR NO KEY UPDATE
-- instead of FOR UPDATE. Every channel_plans insert already holds FOR KEY SHARE
-- on that row (its foreign key to campaigns), which FOR UPDATE conflicts with:
-- two transactions adding channels to one campaign each waited at commit for
-- the other's key-share lock, and one was aborted as a deadlock (40P01) after
-- deadlock_timeout. FOR NO KEY UPDATE does not conflict with FOR KEY SHARE but
-- does with itself, so the checks still run one after the other; the second
-- now sees the first's committed rows and is refused with check_violation
-- (constraint channel_plans_allocation_total), promptly.
CREATE OR REPLACE FUNCTION channel_plans_allocation_check() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  total numeric;
BEGIN
  PERFORM 1 FROM campaigns WHERE plan_id = NEW.plan_id FOR NO KEY UPDATE;
  SELECT coalesce(sum(budget_allocation), 0) INTO total FROM channel_plans WHERE plan_id = NEW.plan_id;
  IF total > 100 THEN
    RAISE EXCEPTION 'the channel budget allocations of campaign % add up to % %%, more than 100 %%', NEW.plan_id, total
      USING ERRCODE = 'check_violation', CONSTRAINT = 'channel_plans_allocation_total';
  END IF;
  RETURN NULL;
END $$;
