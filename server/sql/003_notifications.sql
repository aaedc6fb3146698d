-- 003_notifications.sql: the durable notification outbox (issue 7).
--
-- Portable SQL (SQLite and PostgreSQL). An event is written by the workflow in the same
-- transaction as the state change it announces (or, for time-driven events such as
-- reminders, by the sweep, keyed so it is written once). The delivery worker expands an
-- event into one delivery per (recipient, channel) and marks it fanned out in one
-- transaction; `idempotency_key` is unique, so an event is never delivered twice to the
-- same recipient on the same channel, even across a restart. Nothing here holds a secret
-- or a token: bodies carry request facts only.

CREATE TABLE notification_events (
  id              TEXT    NOT NULL PRIMARY KEY,  -- e.g. "REQ:request.submitted"
  kind            TEXT    NOT NULL,
  subject         TEXT    NOT NULL,              -- request id or "bundle-vN"
  recipients_json TEXT    NOT NULL,              -- ["alice","bob"]: principals
  body_json       TEXT    NOT NULL,              -- facts the message is rendered from
  created_at      BIGINT  NOT NULL,
  fanned_out      BIGINT  NOT NULL DEFAULT 0 CHECK (fanned_out IN (0, 1))
);
CREATE INDEX notification_events_by_fanout ON notification_events (fanned_out, created_at);

CREATE TABLE notification_deliveries (
  idempotency_key TEXT    NOT NULL PRIMARY KEY,  -- SHA-256 hex of (event, recipient, channel)
  event_id        TEXT    NOT NULL REFERENCES notification_events (id),
  recipient       TEXT    NOT NULL,              -- a principal, or "*" for a shared channel
  channel         TEXT    NOT NULL,
  state           TEXT    NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
  attempts        BIGINT  NOT NULL DEFAULT 0,
  next_attempt    BIGINT  NOT NULL,
  last_error      TEXT    NOT NULL DEFAULT '',
  sent_at         BIGINT,
  updated         BIGINT  NOT NULL
);
CREATE INDEX notification_deliveries_due ON notification_deliveries (state, next_attempt);
