-- Hook tokens end. Each token carries its session's generation and an expiry in its signed body; issuing a token
-- for a new run (or revoking) moves the generation on, so earlier tokens stop working. When a run's end is
-- recorded, hook_tokens_end_at is set to that moment plus a grace period for late hooks; issuing clears it.
ALTER TABLE sessions ADD COLUMN hook_token_generation integer NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN hook_tokens_end_at timestamptz;
