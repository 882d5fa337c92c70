-- The dashboard's live stream (GET /api/v1/stream). Every write to a row the dashboard shows (sessions, tool calls,
-- messages, approvals) is recorded here by a trigger, in the writing transaction, whichever code path or replica
-- wrote it, and announced with NOTIFY at commit. Each replica LISTENs once and fans the notices out to its open
-- streams; a stream that reconnects asks for the changes after the last seq it saw (Last-Event-ID).
-- Rows only name what changed; the dashboard reads the rows themselves through the REST API.
CREATE TABLE dashboard_changes (
	seq bigserial PRIMARY KEY,
	kind text NOT NULL CHECK (kind IN ('session', 'tool_call', 'message', 'approval')),
	op text NOT NULL CHECK (op IN ('insert', 'update')),
	session_id uuid NOT NULL,
	ref text NOT NULL,
	at timestamptz NOT NULL DEFAULT now()
);
-- A stream for one session replays its own changes only.
CREATE INDEX dashboard_changes_session_idx ON dashboard_changes (session_id, seq);
-- The service drops old changes (a stream that was away longer reloads everything).
CREATE INDEX dashboard_changes_at_idx ON dashboard_changes (at);

CREATE FUNCTION dashboard_change(p_kind text, p_op text, p_session_id uuid, p_ref text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	c dashboard_changes;
BEGIN
	INSERT INTO dashboard_changes (kind, op, session_id, ref) VALUES (p_kind, p_op, p_session_id, p_ref) RETURNING * INTO c;
	PERFORM pg_notify('dashboard_changes', json_build_object('seq', c.seq, 'kind', c.kind, 'op', c.op,
		'sessionId', c.session_id, 'ref', c.ref, 'at', c.at)::text);
END
$$;

CREATE FUNCTION dashboard_session_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM dashboard_change('session', lower(TG_OP), NEW.id, NEW.id::text);
	RETURN NULL;
END
$$;

-- Tool calls, messages and approvals all have an id and a session_id.
CREATE FUNCTION dashboard_row_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM dashboard_change(TG_ARGV[0], lower(TG_OP), NEW.session_id, NEW.id::text);
	RETURN NULL;
END
$$;

-- A session's lease being taken and given back is not something the dashboard shows.
CREATE TRIGGER sessions_dashboard_insert AFTER INSERT ON sessions FOR EACH ROW EXECUTE FUNCTION dashboard_session_changed();
CREATE TRIGGER sessions_dashboard_update AFTER UPDATE ON sessions FOR EACH ROW
	WHEN ((OLD.*) IS DISTINCT FROM (NEW.*) AND (OLD.lease_owner IS NOT DISTINCT FROM NEW.lease_owner
		AND OLD.lease_expires_at IS NOT DISTINCT FROM NEW.lease_expires_at OR OLD.updated_at IS DISTINCT FROM NEW.updated_at))
	EXECUTE FUNCTION dashboard_session_changed();
CREATE TRIGGER tool_calls_dashboard AFTER INSERT OR UPDATE ON tool_calls FOR EACH ROW EXECUTE FUNCTION dashboard_row_changed('tool_call');
CREATE TRIGGER session_messages_dashboard AFTER INSERT ON session_messages FOR EACH ROW EXECUTE FUNCTION dashboard_row_changed('message');
CREATE TRIGGER approvals_dashboard AFTER INSERT OR UPDATE ON approvals FOR EACH ROW EXECUTE FUNCTION dashboard_row_changed('approval');
