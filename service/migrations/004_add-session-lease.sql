-- The run that currently holds the session (one claude process per session at a time), until it expires.
ALTER TABLE sessions ADD COLUMN lease_owner text;
ALTER TABLE sessions ADD COLUMN lease_expires_at timestamptz;
