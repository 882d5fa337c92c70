-- Replies that arrived while the session's turn was running (Claude Resume with When Busy = Queue). They wait here,
-- in arrival order, until a turn takes them all at once (Claude Resume's Take Queued, or the next Resume): each is
-- taken by exactly one run.
CREATE TABLE queued_messages (
	id bigserial PRIMARY KEY,
	session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
	content text NOT NULL,
	author text NOT NULL,
	channel text NOT NULL,
	-- The sender's own id (a Slack ts, an email Message-ID): the same reply queued twice is queued once.
	external_id text,
	queued_at timestamptz NOT NULL DEFAULT now(),
	taken_at timestamptz,
	taken_by_run uuid
);
CREATE INDEX queued_messages_waiting_idx ON queued_messages (session_id, id) WHERE taken_at IS NULL;
CREATE UNIQUE INDEX queued_messages_external_idx ON queued_messages (session_id, external_id);
