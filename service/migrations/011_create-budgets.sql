-- Spending caps. A budget applies to every session (scope 'all'), to one repository, thread key or session
-- (scope_value set), or to each repository / thread / session separately (scope_value NULL).
CREATE TABLE budgets (
	id uuid PRIMARY KEY,
	name text,
	scope text NOT NULL CHECK (scope IN ('all', 'repository', 'thread', 'session')),
	scope_value text,
	period text NOT NULL CHECK (period IN ('lifetime', 'day', 'month')),
	limit_usd double precision NOT NULL CHECK (limit_usd > 0),
	warning_percent double precision NOT NULL DEFAULT 80 CHECK (warning_percent > 0 AND warning_percent <= 100),
	-- 'environment' rows are rewritten from BUDGET_* variables at every start.
	source text NOT NULL DEFAULT 'api' CHECK (source IN ('api', 'environment')),
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);
-- One budget per (scope, value, period): a PUT of the same rule changes its limit rather than adding a twin.
CREATE UNIQUE INDEX budgets_rule_idx ON budgets (scope, COALESCE(scope_value, ''), period);

-- What a run set aside before it started. Held amounts count against every budget the run falls under until
-- the run's cost is recorded (settled), it is released, or it expires because nobody renewed it (a dead run).
CREATE TABLE budget_reservations (
	run_id uuid PRIMARY KEY,
	session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
	status text NOT NULL CHECK (status IN ('held', 'settled', 'released', 'refused')),
	cap_usd double precision,
	cost_usd double precision,
	message text,
	refused_budget_id uuid REFERENCES budgets (id) ON DELETE SET NULL,
	created_at timestamptz NOT NULL,
	expires_at timestamptz NOT NULL,
	ended_at timestamptz
);
CREATE INDEX budget_reservations_held_idx ON budget_reservations (expires_at) WHERE status = 'held';
CREATE INDEX budget_reservations_refused_idx ON budget_reservations (refused_budget_id, created_at) WHERE status = 'refused';

CREATE TABLE budget_holds (
	run_id uuid NOT NULL REFERENCES budget_reservations (run_id) ON DELETE CASCADE,
	budget_id uuid NOT NULL REFERENCES budgets (id) ON DELETE CASCADE,
	-- Which repository / thread / session of a per-each budget; '' for the others.
	target text NOT NULL,
	period_start timestamptz NOT NULL,
	amount_usd double precision NOT NULL,
	PRIMARY KEY (budget_id, run_id)
);

-- Budget Warning / Budget Reached fire once per budget, target, period and session.
CREATE TABLE budget_alerts (
	budget_id uuid NOT NULL REFERENCES budgets (id) ON DELETE CASCADE,
	target text NOT NULL,
	period_start timestamptz NOT NULL,
	level text NOT NULL CHECK (level IN ('warning', 'reached')),
	session_id uuid NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (budget_id, target, period_start, level, session_id)
);
