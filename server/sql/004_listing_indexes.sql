-- 004_listing_indexes.sql: indexes for the paginated listings (portable SQL).
--
-- Request lists are pages in (created, id) order, newest first, resumed from a cursor;
-- the audit log is filtered by event and by actor over the whole log, in seq order.
-- The outbox retention job deletes finished deliveries by (state, updated) and empties
-- events left without deliveries.

CREATE INDEX requests_by_created ON requests (created, id);
CREATE INDEX audit_by_event ON audit (event, seq);
CREATE INDEX audit_by_actor ON audit (actor, seq);
CREATE INDEX audit_by_at ON audit (at, seq);
CREATE INDEX notification_deliveries_by_age ON notification_deliveries (state, updated);
CREATE INDEX notification_deliveries_by_event ON notification_deliveries (event_id);
