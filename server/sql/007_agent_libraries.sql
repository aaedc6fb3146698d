-- 007_agent_libraries.sql: the libraries each agent runs with.
--
-- The packaged agent carries OpenSSL, Poco, SQLite and Lua built in (docs/decisions.md),
-- so a Debian security update of one of them does not reach it. The agent reports each
-- library's version and whether it is built in with its facts (PUT /api/v1/agent/facts,
-- member `libraries`), and the coordinator keeps the last report here, as the JSON
-- array the facts route checked, so the device list can answer "which agents carry the
-- OpenSSL named in this advisory". NULL until the agent reports it (portable SQL).

ALTER TABLE devices ADD COLUMN agent_libraries TEXT;
