-- The cost of each API request of a run as claude reports it while the run goes on (its OpenTelemetry
-- claude_code.api_request events), so progress can say what a run has cost so far. The run's own record keeps
-- its final cost; these rows only answer "so far". Keyed by the API request id: an export sent twice is stored once.
CREATE TABLE api_request_costs (
	session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
	request_id text NOT NULL,
	-- The run named by the export's resource attributes; no foreign key: its record may be written after.
	run_id uuid,
	model text,
	cost_usd double precision NOT NULL CHECK (cost_usd >= 0),
	input_tokens bigint NOT NULL DEFAULT 0,
	output_tokens bigint NOT NULL DEFAULT 0,
	cache_read_tokens bigint NOT NULL DEFAULT 0,
	cache_creation_tokens bigint NOT NULL DEFAULT 0,
	occurred_at timestamptz NOT NULL,
	PRIMARY KEY (session_id, request_id)
);
-- A run's sum reads the index alone.
CREATE INDEX api_request_costs_run_idx ON api_request_costs (session_id, run_id) INCLUDE (cost_usd);
