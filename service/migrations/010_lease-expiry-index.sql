-- The lease sweep looks for held leases that ran out: only sessions with a holder are indexed.
CREATE INDEX sessions_lease_expiry_idx ON sessions (lease_expires_at) WHERE lease_owner IS NOT NULL;
