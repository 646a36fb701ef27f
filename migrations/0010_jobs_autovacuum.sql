-- background_jobs churns: every job is inserted, updated two or three times
-- (claim, outcome) and its index entries go dead as it moves. With the
-- default scale factors autovacuum waits for 20 % of the table to be dead, so
-- a big backlog leaves the claim index full of dead entries (a claim read 243
-- buffers instead of 13 after 40,000 updates) and a new table's statistics
-- stale (the claim planned as a scan of the whole backlog). Vacuum and analyze
-- after a fixed amount of churn instead.
ALTER TABLE background_jobs SET (
  autovacuum_vacuum_scale_factor = 0,
  autovacuum_vacuum_threshold = 5000,
  autovacuum_analyze_scale_factor = 0,
  autovacuum_analyze_threshold = 2000
);
