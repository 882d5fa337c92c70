-- Progress in a chat thread, and each chat event acted on once.

-- A subscription may ask for at most one delivery every N seconds per session. Events that arrive inside the
-- window are coalesced: the latest waits for the window to end, the ones it replaces become 'superseded'.
ALTER TABLE subscriptions ADD COLUMN min_interval_seconds integer
	CHECK (min_interval_seconds IS NULL OR min_interval_seconds BETWEEN 1 AND 3600);

ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check CHECK (status IN ('pending', 'delivered', 'dead', 'superseded'));
-- How many earlier events of the session this delivery stands for (they were superseded by it).
ALTER TABLE deliveries ADD COLUMN coalesced integer NOT NULL DEFAULT 0;

-- When a coalescing subscription's last request for a session ended: the next one waits until the window is over.
-- Written in the statement that records the request's outcome, so every replica sees it with that outcome.
CREATE TABLE delivery_windows (
	subscription_id uuid NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
	session_id uuid NOT NULL,
	last_attempt_at timestamptz NOT NULL,
	PRIMARY KEY (subscription_id, session_id)
);

-- Where a run's progress is shown (for example the Slack message "working…" that a workflow updates as tool
-- calls happen): an opaque reference the workflow chose, handed back with the session's Hook Trigger deliveries.
ALTER TABLE session_runs ADD COLUMN status_message text;

-- A key per external event (a Slack event, an email's Message-ID) that started or continued a session: the same
-- event delivered twice acts once, whichever n8n worker or service replica sees it.
CREATE TABLE event_keys (
	key text PRIMARY KEY,
	session_id uuid NOT NULL,
	action text NOT NULL CHECK (action IN ('start', 'resume')),
	created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX event_keys_created_idx ON event_keys (created_at);
