-- 006_pending_by_target_set.sql: the duplicate-pending check reads the index alone.
--
-- "One pending request per action and target set" is checked at every submission with
-- (tenant, action, target_root) AND state IN ('needs_approval', 'approved'). The index of
-- 001 stopped at target_root, so the check visited every past request on the same
-- targets, and submissions slowed down as the history of a device grew. With state in
-- the index the check touches only the pending entries (portable SQL).

DROP INDEX requests_by_target_set;
CREATE INDEX requests_by_target_set ON requests (tenant, action, target_root, state);
