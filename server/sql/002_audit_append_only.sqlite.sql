-- 002_audit_append_only.sqlite.sql: SQLite dialect only (the .sqlite suffix).
--
-- The audit table refuses UPDATE and DELETE through SQL, so a bug in the coordinator
-- cannot rewrite history. Someone with the database file can still drop these
-- triggers; that is what the hash chain and `keyturn audit verify` catch. The
-- PostgreSQL backend will ship 002_audit_append_only.postgres.sql (a rule or a trigger
-- function plus REVOKE UPDATE, DELETE).

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
  SELECT RAISE(ABORT, 'audit is append-only');
END;

CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
  SELECT RAISE(ABORT, 'audit is append-only');
END;
