-- A turn that took queued replies and failed before claude started gives them back to the queue. Counted, so a
-- failure that repeats (a workspace that is gone for good) does not hand the same replies round forever: past a
-- few give-backs they stay taken (QUEUED_MESSAGE_MAX_GIVE_BACKS in the contract module).
ALTER TABLE queued_messages ADD COLUMN give_backs integer NOT NULL DEFAULT 0;
-- The replies one run took (asked again by the same run, given back, or returned when its lease lapsed).
CREATE INDEX queued_messages_taken_by_run_idx ON queued_messages (session_id, taken_by_run) WHERE taken_at IS NOT NULL;
