-- Event keys a node can retry and give back, and cheaper deliveries for long sessions.

-- The random id of the claim that holds an event key (the node makes one per claim). A claim retried after its
-- answer was lost is the same claim, not a second arrival of the event; and only the claimer can release the key,
-- which a Start or Resume does when it fails before claude was launched, so that the event's resend runs it.
-- Keys claimed before this column (and by nodes that send none) have no claim id: they are never released.
ALTER TABLE event_keys ADD COLUMN claim_id uuid;

-- Every Hook Trigger delivery carries how many tool calls its run has made so far: a count over the session's
-- tool calls within the run's time span. Without this index that count read every tool call row of the session
-- (found by the unique (session_id, tool_use_id) index, then filtered on the heap), so each delivery of a session
-- with thousands of tool calls cost thousands of row reads. With it the count reads the run's range of this index
-- and nothing else: the index carries the two columns the count's bounds are written with, so no row is visited
-- (an index-only scan; without them PostgreSQL visited each row of the run, measured). Writes pay one more index
-- entry; an update that sets finished_at was already not HOT (tool_calls_finished_idx).
CREATE INDEX tool_calls_session_time_idx ON tool_calls (session_id, (COALESCE(started_at, finished_at)))
	INCLUDE (started_at, finished_at);
