-- Cheaper writes on the hook path (issue #20). Every hook event updates its session row (counts, last activity)
-- and most upsert a tool call; what the dashboard needs from those writes stays, done once per statement instead
-- of once per row, and the session's search vector is no longer recomputed on writes that cannot change it.

-- 1. The dashboard's change records (migration 012): one INSERT … SELECT and one NOTIFY per statement, not per row.
-- A batch of hook events is one statement, so a batch of 50 made 100 inserts and 100 notices; now it makes a few.
-- A notice carries the changes as a JSON array (at most 40, well within NOTIFY's 8000 bytes), in seq order.
-- The changes a statement made, as given (kind, op, session, ref each): recorded, then announced.
CREATE FUNCTION dashboard_changes_record(p_kind text, p_op text, p_sessions uuid[], p_refs text[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	payloads text[];
	payload text;
BEGIN
	IF cardinality(p_sessions) = 0 THEN RETURN; END IF;
	WITH ins AS (
		INSERT INTO dashboard_changes (kind, op, session_id, ref)
		SELECT p_kind, p_op, s, r FROM unnest(p_sessions, p_refs) WITH ORDINALITY AS x(s, r, ord) ORDER BY ord
		RETURNING seq, kind, op, session_id, ref, at
	), parts AS (
		SELECT (row_number() OVER (ORDER BY seq) - 1) / 40 AS part,
			json_build_object('seq', seq, 'kind', kind, 'op', op, 'sessionId', session_id, 'ref', ref, 'at', at) AS change, seq
		FROM ins
	)
	SELECT array_agg(p ORDER BY part) INTO payloads
	FROM (SELECT part, json_agg(change ORDER BY seq)::text AS p FROM parts GROUP BY part) chunks;
	FOREACH payload IN ARRAY payloads LOOP
		PERFORM pg_notify('dashboard_changes', payload);
	END LOOP;
END
$$;

-- Tool calls, messages and approvals all have an id and a session_id.
CREATE FUNCTION dashboard_rows_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM dashboard_changes_record(TG_ARGV[0], lower(TG_OP),
		ARRAY(SELECT n.session_id FROM new_rows n ORDER BY n.id), ARRAY(SELECT n.id::text FROM new_rows n ORDER BY n.id));
	RETURN NULL;
END
$$;

CREATE FUNCTION dashboard_sessions_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM dashboard_changes_record('session', 'insert', ARRAY(SELECT n.id FROM new_rows n ORDER BY n.id), ARRAY(SELECT n.id::text FROM new_rows n ORDER BY n.id));
	RETURN NULL;
END
$$;

-- As the row trigger's WHEN had it: a session's lease being taken and given back is not something the dashboard shows.
CREATE FUNCTION dashboard_sessions_updated() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	ids uuid[];
BEGIN
	ids := ARRAY(
		SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
		WHERE (o.*) IS DISTINCT FROM (n.*) AND (o.lease_owner IS NOT DISTINCT FROM n.lease_owner
			AND o.lease_expires_at IS NOT DISTINCT FROM n.lease_expires_at OR o.updated_at IS DISTINCT FROM n.updated_at)
		ORDER BY n.id);
	PERFORM dashboard_changes_record('session', 'update', ids, ARRAY(SELECT i::text FROM unnest(ids) i));
	RETURN NULL;
END
$$;

DROP TRIGGER sessions_dashboard_insert ON sessions;
DROP TRIGGER sessions_dashboard_update ON sessions;
DROP TRIGGER tool_calls_dashboard ON tool_calls;
DROP TRIGGER session_messages_dashboard ON session_messages;
DROP TRIGGER approvals_dashboard ON approvals;

-- A statement trigger with transition tables takes one event each: INSERT and UPDATE apart.
CREATE TRIGGER sessions_dashboard_insert AFTER INSERT ON sessions REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION dashboard_sessions_inserted();
CREATE TRIGGER sessions_dashboard_update AFTER UPDATE ON sessions REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION dashboard_sessions_updated();
CREATE TRIGGER tool_calls_dashboard_insert AFTER INSERT ON tool_calls REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION dashboard_rows_changed('tool_call');
CREATE TRIGGER tool_calls_dashboard_update AFTER UPDATE ON tool_calls REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION dashboard_rows_changed('tool_call');
CREATE TRIGGER session_messages_dashboard AFTER INSERT ON session_messages REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION dashboard_rows_changed('message');
CREATE TRIGGER approvals_dashboard_insert AFTER INSERT ON approvals REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION dashboard_rows_changed('approval');
CREATE TRIGGER approvals_dashboard_update AFTER UPDATE ON approvals REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION dashboard_rows_changed('approval');

-- 2. A session's search vector (migration 013) was a generated column, recomputed from the prompt, result and
-- error on every UPDATE of the row, that is on every hook event: with a prompt of a few KB that doubled the time of
-- the hook statement. It is now kept by a trigger that runs only when one of those three columns changes.
ALTER TABLE sessions ALTER COLUMN search DROP EXPRESSION;

CREATE FUNCTION sessions_search_vector() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	NEW.search := to_tsvector('english'::regconfig,
		left(coalesce(NEW.prompt, '') || ' ' || coalesce(NEW.result, '') || ' ' || coalesce(NEW.error_message, ''), 200000));
	RETURN NEW;
END
$$;

CREATE TRIGGER sessions_search_insert BEFORE INSERT ON sessions FOR EACH ROW EXECUTE FUNCTION sessions_search_vector();
CREATE TRIGGER sessions_search_update BEFORE UPDATE ON sessions FOR EACH ROW
	WHEN (OLD.prompt IS DISTINCT FROM NEW.prompt OR OLD.result IS DISTINCT FROM NEW.result
		OR OLD.error_message IS DISTINCT FROM NEW.error_message OR NEW.search IS DISTINCT FROM OLD.search)
	EXECUTE FUNCTION sessions_search_vector();
