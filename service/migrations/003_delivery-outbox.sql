-- The Hook Trigger outbox (tables from 001): what the deliverer needs to keep per-session order, claim rows
-- from several replicas and show why a delivery failed.

-- Every delivery comes from a stored hook event; its id is the order of the session's events.
ALTER TABLE deliveries ALTER COLUMN hook_event_id SET NOT NULL;
ALTER TABLE deliveries ADD COLUMN last_status_code integer;
ALTER TABLE deliveries ADD COLUMN last_attempt_at timestamptz;

-- One delivery per event per subscription, whatever retries the ingestion does.
CREATE UNIQUE INDEX deliveries_subscription_event_idx ON deliveries (subscription_id, hook_event_id);
-- "Is there an earlier pending event of this session for this subscription?": asked for every candidate row.
CREATE INDEX deliveries_pending_order_idx ON deliveries (subscription_id, session_id, hook_event_id) WHERE status = 'pending';
-- Dead letters and history by subscription, newest first.
CREATE INDEX deliveries_status_event_idx ON deliveries (status, hook_event_id DESC);

ALTER TABLE subscriptions ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
