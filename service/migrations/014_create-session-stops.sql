-- A person asked to stop a session's running turn (POST /api/v1/sessions/:id/stop). One row per run that was
-- asked to stop: the run is the lease holder at the time of the request, and its hooks are known by the hook
-- token generation it was given. The row is the record of who stopped it, from where, and when.
CREATE TABLE session_stops (
	id bigserial PRIMARY KEY,
	session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
	lease_owner text NOT NULL,
	hook_generation integer NOT NULL,
	requested_by text NOT NULL,
	channel text NOT NULL,
	reason text,
	requested_at timestamptz NOT NULL DEFAULT now(),
	-- A second request for the same run is the same stop.
	UNIQUE (session_id, lease_owner)
);
-- Each replica reads the stops of the last hour at start, to answer the hooks of runs being stopped.
CREATE INDEX session_stops_requested_idx ON session_stops (requested_at);
