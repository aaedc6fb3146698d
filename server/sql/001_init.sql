-- 001_init.sql: the coordinator's first schema.
--
-- Portable SQL only (SQLite and PostgreSQL): TEXT / BIGINT columns, explicit primary
-- keys, CHECK constraints for every state column, no AUTOINCREMENT. Times are Unix
-- seconds (BIGINT). The schema_version table is created by the Migrator itself, before
-- this file runs, so it can record this file in the same transaction.

CREATE TABLE requests (
  id                TEXT    NOT NULL PRIMARY KEY,
  tenant            TEXT    NOT NULL,
  action            TEXT    NOT NULL,
  params_json       TEXT    NOT NULL,
  requester         TEXT    NOT NULL,
  justification     TEXT    NOT NULL,
  created           BIGINT  NOT NULL,
  expires           BIGINT  NOT NULL,
  bundle_version    BIGINT  NOT NULL,
  target_count      BIGINT  NOT NULL,
  target_root       TEXT    NOT NULL,
  payload_b64       TEXT    NOT NULL,
  state             TEXT    NOT NULL CHECK (state IN ('needs_approval', 'approved',
                      'rejected', 'cancelled', 'expired', 'completed')),
  requirements_json TEXT    NOT NULL,
  updated           BIGINT  NOT NULL
);
CREATE INDEX requests_by_requester ON requests (requester, created);
CREATE INDEX requests_by_state ON requests (state, expires);
CREATE INDEX requests_by_target_set ON requests (tenant, action, target_root);

-- One signature per (request, role, principal): "a principal approves once" holds even
-- if two approvals race past the service's own check.
CREATE TABLE request_signatures (
  request_id    TEXT    NOT NULL REFERENCES requests (id),
  role          TEXT    NOT NULL CHECK (role IN ('requester', 'approver', 'completer')),
  principal     TEXT    NOT NULL,
  kid           TEXT    NOT NULL,
  at            BIGINT  NOT NULL,
  protected_b64 TEXT    NOT NULL,
  signature_b64 TEXT    NOT NULL,
  notes         TEXT    NOT NULL,
  PRIMARY KEY (request_id, role, principal)
);

CREATE TABLE rejections (
  request_id TEXT   NOT NULL REFERENCES requests (id),
  principal  TEXT   NOT NULL,
  notes      TEXT   NOT NULL,
  at         BIGINT NOT NULL,
  PRIMARY KEY (request_id, principal)
);

-- One row per target device, in the order of the signed target list (idx).
CREATE TABLE request_targets (
  request_id  TEXT   NOT NULL REFERENCES requests (id),
  device_id   TEXT   NOT NULL,
  idx         BIGINT NOT NULL,
  state       TEXT   NOT NULL CHECK (state IN ('queued', 'delivered', 'succeeded',
                'failed', 'interrupted', 'expired')),
  token       TEXT,
  result_json TEXT,
  updated     BIGINT NOT NULL,
  PRIMARY KEY (request_id, device_id)
);
CREATE INDEX request_targets_by_device ON request_targets (device_id, state);

CREATE TABLE devices (
  id               TEXT   NOT NULL PRIMARY KEY,
  cert_fingerprint TEXT   NOT NULL,
  facts_json       TEXT   NOT NULL,
  enrolled_at      BIGINT NOT NULL,
  last_contact     BIGINT,
  removed_at       BIGINT
);
CREATE INDEX devices_by_fingerprint ON devices (cert_fingerprint);

-- Codes are stored as SHA-256 hex only: a copy of the database does not enroll devices.
CREATE TABLE enrollment_codes (
  code_hash  TEXT   NOT NULL PRIMARY KEY,
  created_by TEXT   NOT NULL,
  created    BIGINT NOT NULL,
  expires    BIGINT NOT NULL,
  used_at    BIGINT,
  device_id  TEXT
);

CREATE TABLE bundles (
  version      BIGINT NOT NULL PRIMARY KEY,
  sha256       TEXT   NOT NULL,
  file         TEXT   NOT NULL,
  published_at BIGINT NOT NULL
);

CREATE TABLE login_challenges (
  challenge_hash TEXT   NOT NULL PRIMARY KEY,
  principal      TEXT   NOT NULL,
  expires        BIGINT NOT NULL
);

CREATE TABLE sessions (
  token_hash TEXT   NOT NULL PRIMARY KEY,
  principal  TEXT   NOT NULL,
  created    BIGINT NOT NULL,
  expires    BIGINT NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions (expires);

-- Append-only hash chain; docs/storage.md gives exactly what `hash` covers.
CREATE TABLE audit (
  seq         BIGINT NOT NULL PRIMARY KEY,
  at          BIGINT NOT NULL,
  actor       TEXT   NOT NULL,
  event       TEXT   NOT NULL,
  subject     TEXT   NOT NULL,
  detail_json TEXT   NOT NULL,
  prev_hash   TEXT   NOT NULL,
  hash        TEXT   NOT NULL
);
CREATE INDEX audit_by_subject ON audit (subject, seq);
