-- Runs once, when the PostgreSQL volume is first initialised: one server, a database each for n8n (POSTGRES_DB)
-- and for the Claude Orchestrator service (its replicas share it).
CREATE DATABASE orchestrator;
