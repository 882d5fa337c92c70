-- The dashboard overview reads the last 30 days of runs (cost per day) and of finished tool calls (failure
-- rate): these indexes turn both into range scans, so the overview does not slow down as history grows.
CREATE INDEX session_runs_started_idx ON session_runs (started_at);
CREATE INDEX tool_calls_finished_idx ON tool_calls (finished_at);
