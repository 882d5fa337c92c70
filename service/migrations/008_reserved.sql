-- Number held for a migration of another change; replaced by it when the branches are joined.
SELECT 1;
