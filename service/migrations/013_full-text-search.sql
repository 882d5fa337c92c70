-- Full-text search for the dashboard (GET /api/v1/sessions?search=…): prompts and results, messages, and tool
-- calls' inputs, outputs and errors, each row with its own tsvector (kept by PostgreSQL as a generated column, so
-- every writer keeps it current) and a GIN index. English stemming: "failing tests" finds "failed test".

-- The searchable text of a JSON value: its text form with JSON's escapes turned into spaces, so a word after a
-- newline in a tool's output is a word of its own, and bounded so a huge output cannot exceed a tsvector's limit.
CREATE FUNCTION search_text(value jsonb) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE RETURN
	regexp_replace(left(coalesce(value::text, ''), 200000), '\\[nrtbf"]|\\u[0-9a-fA-F]{4}', ' ', 'g');

ALTER TABLE sessions ADD COLUMN search tsvector GENERATED ALWAYS AS (to_tsvector('english'::regconfig,
	left(coalesce(prompt, '') || ' ' || coalesce(result, '') || ' ' || coalesce(error_message, ''), 200000))) STORED;
ALTER TABLE session_messages ADD COLUMN search tsvector GENERATED ALWAYS AS (to_tsvector('english'::regconfig,
	left(content, 200000))) STORED;
ALTER TABLE tool_calls ADD COLUMN search tsvector GENERATED ALWAYS AS (to_tsvector('english'::regconfig,
	coalesce(tool_name, '') || ' ' || search_text(input) || ' ' || search_text(response) || ' ' || left(coalesce(error, ''), 200000))) STORED;

CREATE INDEX sessions_search_idx ON sessions USING gin (search);
CREATE INDEX session_messages_search_idx ON session_messages USING gin (search);
CREATE INDEX tool_calls_search_idx ON tool_calls USING gin (search);
