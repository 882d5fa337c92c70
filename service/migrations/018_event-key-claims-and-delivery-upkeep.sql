-- Event keys a node can retry and give back.

-- The random id of the claim that holds an event key (the node makes one per claim). A claim retried after its
-- answer was lost is the same claim, not a second arrival of the event; and only the claimer can release the key,
-- which a Start or Resume does when it fails before claude was launched, so that the event's resend runs it.
-- Keys claimed before this column (and by nodes that send none) have no claim id: they are never released.
ALTER TABLE event_keys ADD COLUMN claim_id uuid;
