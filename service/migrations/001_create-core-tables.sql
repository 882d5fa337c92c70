-- Sessions: one row per Claude Code session; id is the Claude session uuid itself.
CREATE TABLE sessions (
	id uuid PRIMARY KEY,
	origin text NOT NULL DEFAULT 'orchestrator' CHECK (origin IN ('orchestrator', 'external')),
	status text NOT NULL DEFAULT 'created',
	workspace_type text,
	workspace_path text,
	workspace_branch text,
	sandbox_id text,
	repository text,
	model text,
	prompt text,
	cli_version text,
	thread_key text,
	result text,
	is_error boolean,
	subtype text,
	terminal_reason text,
	error_message text,
	permission_denials jsonb NOT NULL DEFAULT '[]',
	cost_usd double precision NOT NULL DEFAULT 0,
	input_tokens bigint NOT NULL DEFAULT 0,
	output_tokens bigint NOT NULL DEFAULT 0,
	cache_read_tokens bigint NOT NULL DEFAULT 0,
	cache_creation_tokens bigint NOT NULL DEFAULT 0,
	num_turns integer NOT NULL DEFAULT 0,
	duration_ms bigint NOT NULL DEFAULT 0,
	run_count integer NOT NULL DEFAULT 0,
	hook_event_count integer NOT NULL DEFAULT 0,
	hooks_missing boolean NOT NULL DEFAULT false,
	metadata jsonb NOT NULL DEFAULT '{}',
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	started_at timestamptz,
	ended_at timestamptz,
	last_activity_at timestamptz NOT NULL DEFAULT now()
);
-- Keyset pagination walks (created_at, id) newest first.
CREATE INDEX sessions_created_idx ON sessions (created_at DESC, id DESC);
CREATE INDEX sessions_status_created_idx ON sessions (status, created_at DESC, id DESC);
CREATE INDEX sessions_workspace_created_idx ON sessions (workspace_type, created_at DESC, id DESC);

-- One row per run of the CLI (a start or a resume) with that run's own figures; session totals are their sums.
CREATE TABLE session_runs (
	id uuid PRIMARY KEY,
	session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
	kind text NOT NULL CHECK (kind IN ('start', 'resume')),
	status text NOT NULL,
	prompt text,
	result text,
	is_error boolean,
	subtype text,
	terminal_reason text,
	error_message text,
	cost_usd double precision NOT NULL DEFAULT 0,
	usage jsonb,
	model_usage jsonb,
	num_turns integer NOT NULL DEFAULT 0,
	duration_ms bigint NOT NULL DEFAULT 0,
	permission_denials jsonb NOT NULL DEFAULT '[]',
	cli_version text,
	exit_code integer,
	started_at timestamptz NOT NULL DEFAULT now(),
	ended_at timestamptz
);
CREATE INDEX session_runs_session_idx ON session_runs (session_id, started_at);

CREATE TABLE session_messages (
	id bigserial PRIMARY KEY,
	session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
	direction text NOT NULL CHECK (direction IN ('user', 'assistant', 'system')),
	content text NOT NULL,
	source text NOT NULL,
	-- The sender's own id (a stream line uuid, a Slack ts, an email Message-ID): a re-sent message is stored once.
	external_id text,
	created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX session_messages_session_idx ON session_messages (session_id, id);
CREATE UNIQUE INDEX session_messages_external_idx ON session_messages (session_id, external_id);

CREATE TABLE tool_calls (
	id bigserial PRIMARY KEY,
	session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
	tool_use_id text NOT NULL,
	tool_name text,
	input jsonb,
	response jsonb,
	error text,
	status text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'denied')),
	duration_ms integer,
	started_at timestamptz,
	finished_at timestamptz,
	seen_in_hooks boolean NOT NULL DEFAULT false,
	seen_in_stream boolean NOT NULL DEFAULT false,
	truncated boolean NOT NULL DEFAULT false,
	UNIQUE (session_id, tool_use_id)
);

CREATE TABLE hook_events (
	id bigserial PRIMARY KEY,
	session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
	event_name text NOT NULL,
	tool_name text,
	tool_use_id text,
	prompt_id text,
	payload jsonb NOT NULL,
	-- Hash of the stored payload: a redelivered event is recognised and not stored twice.
	payload_hash text NOT NULL,
	received_at timestamptz NOT NULL DEFAULT now(),
	UNIQUE (session_id, payload_hash)
);
CREATE INDEX hook_events_session_idx ON hook_events (session_id, id);

CREATE TABLE threads (
	key text PRIMARY KEY,
	session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
	metadata jsonb NOT NULL DEFAULT '{}',
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX threads_session_idx ON threads (session_id);

-- Hook Trigger registrations and their outbox.
CREATE TABLE subscriptions (
	id uuid PRIMARY KEY,
	url text NOT NULL,
	events jsonb NOT NULL DEFAULT '[]',
	tool_filter text,
	session_id uuid,
	thread_key text,
	workspace_type text,
	secret text NOT NULL,
	workflow_id text,
	node_name text,
	created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX subscriptions_url_idx ON subscriptions (url);

CREATE TABLE deliveries (
	id uuid PRIMARY KEY,
	subscription_id uuid NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
	session_id uuid NOT NULL,
	hook_event_id bigint REFERENCES hook_events (id) ON DELETE CASCADE,
	event_name text NOT NULL,
	status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
	attempts integer NOT NULL DEFAULT 0,
	next_attempt_at timestamptz NOT NULL DEFAULT now(),
	last_error text,
	created_at timestamptz NOT NULL DEFAULT now(),
	delivered_at timestamptz
);
CREATE INDEX deliveries_pending_idx ON deliveries (status, next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_subscription_idx ON deliveries (subscription_id, status, created_at);
