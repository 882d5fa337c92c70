-- The Claude Code conversation of a session (its <session>.jsonl), gzip-compressed and scrubbed, so that a
-- Resume on any worker can restore it. One row per session: each upload replaces the previous one.
CREATE TABLE session_transcripts (
	session_id uuid PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
	-- Counts uploads; a worker compares it with the version it last saw.
	version integer NOT NULL,
	content bytea NOT NULL,
	-- The stored (scrubbed) text: its size in bytes, uncompressed, and its sha256 (hex).
	size_bytes bigint NOT NULL,
	sha256 text NOT NULL,
	-- The file the worker sent, before scrubbing: how a worker tells whether its own copy is the latest.
	source_size_bytes bigint NOT NULL,
	source_sha256 text NOT NULL,
	run_id uuid,
	updated_at timestamptz NOT NULL DEFAULT now()
);
