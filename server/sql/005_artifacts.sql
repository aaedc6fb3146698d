-- 005_artifacts.sql: artifacts for app.install (issue 4) and the versions agents report
-- (issue 6).
--
-- Portable SQL (SQLite and PostgreSQL). An artifact's bytes live in the data folder's
-- artifact directory under their SHA-256 (content addressed); this table holds what an
-- admin said about them. The store never parses a request's params: which device may
-- fetch which artifact is decided by the service over the rows it reads.

CREATE TABLE artifacts (
  sha256      TEXT   NOT NULL PRIMARY KEY,  -- lowercase hex, also the file name
  size        BIGINT NOT NULL CHECK (size >= 0),
  name        TEXT   NOT NULL,              -- what the uploader called it (display only)
  uploaded_by TEXT   NOT NULL,
  uploaded_at BIGINT NOT NULL
);

-- What the agent said in its last facts report: its program version and the trust bundle
-- version it holds. NULL until the agent reports them (older agents never do).
ALTER TABLE devices ADD COLUMN agent_version TEXT;
ALTER TABLE devices ADD COLUMN bundle_version BIGINT;
