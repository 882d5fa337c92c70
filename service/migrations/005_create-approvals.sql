-- Approvals: a PreToolUse call that a session's policy gates is deferred (the claude process ends) and waits
-- here for a person; the resumed run's PreToolUse for the same tool_use_id is answered from this row.

-- The policy the node sends for the session (rules, who may decide, expiry); NULL = nothing is gated.
ALTER TABLE sessions ADD COLUMN approval_policy jsonb;

CREATE TABLE approvals (
	id uuid PRIMARY KEY,
	session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
	tool_use_id text NOT NULL,
	tool_name text NOT NULL,
	tool_input jsonb,
	-- The policy rule that gated the call ("outside allowed tools" when that was the reason).
	rule text NOT NULL,
	thread_key text,
	-- Who may decide, copied from the policy when the call was gated: a later policy change does not move it.
	deciders jsonb NOT NULL DEFAULT '[]',
	status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'denied', 'expired')),
	requested_at timestamptz NOT NULL DEFAULT now(),
	expires_at timestamptz NOT NULL,
	decided_at timestamptz,
	decided_by text,
	channel text,
	note text,
	-- Attempts by people the policy does not name: [{by, channel, at}], kept for the decision history.
	refusals jsonb NOT NULL DEFAULT '[]',
	-- One approval per tool call: the resumed run asks again with the same tool_use_id.
	UNIQUE (session_id, tool_use_id)
);
CREATE INDEX approvals_session_idx ON approvals (session_id, requested_at);
-- "What is waiting for a person?" across all sessions (the dashboard), newest first.
CREATE INDEX approvals_pending_idx ON approvals (requested_at DESC) WHERE status = 'pending';
