-- Bumped by every change to subscriptions, whichever replica makes it. Hook ingestion keeps the filters in memory
-- with the version it read them at, and writes a batch that no filter wants in one statement guarded by that
-- version instead of a transaction that reads the filters again (hooks.repository.ts).
CREATE TABLE subscriptions_version (
	only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
	version bigint NOT NULL
);
INSERT INTO subscriptions_version (version) VALUES (1);

CREATE FUNCTION bump_subscriptions_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE subscriptions_version SET version = version + 1;
	RETURN NULL;
END
$$;

CREATE TRIGGER subscriptions_version_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON subscriptions
	FOR EACH STATEMENT EXECUTE FUNCTION bump_subscriptions_version();
