import type { SessionStatus } from '../protocol';
import type { PreparedWorkspace, RunOutcome } from '../runner';
import { withRetry, type OrchestratorClient } from './client';
import { outputWorkspace } from './output-workspace';
import type { SessionOutput } from './session-run';

// A reservation lives this long without renewal: a run whose process died stops holding budget after it.
export const RESERVATION_TTL_SECONDS = 120;

export type BudgetGrant =
	| {
			granted: true;
			/** What claude may spend (--max-budget-usd): the smallest reservation, or the node's own Max Budget. */
			capUsd?: number;
			/** Stops renewing; the service settles the reservation when the run's outcome is recorded. */
			stop(): void;
	  }
	| { granted: false; message: string };

interface ReservationAnswer {
	granted: boolean;
	capUsd?: number | null;
	message?: string;
}

/**
 * Reserves from every budget that applies to the session before claude starts (the service locks the budget rows,
 * so concurrent runs of one thread cannot together hold more than is left) and keeps the reservation alive while
 * the run lasts. A budget with nothing left refuses the run, with a message naming it.
 */
export async function reserveBudget(
	client: OrchestratorClient,
	sessionId: string,
	runId: string,
	maxBudgetUsd?: number,
	/** The service's answer when the run's lease brought it (reservationAsk); asked for when undefined. */
	answered?: ReservationAnswer,
): Promise<BudgetGrant> {
	const answer =
		answered ??
		(await withRetry(() =>
			client.request<ReservationAnswer>('POST', '/api/v1/budgets/reservations', {
				sessionId,
				...reservationAsk(runId, maxBudgetUsd),
			}),
		));
	if (!answer.granted)
		return { granted: false, message: answer.message ?? 'Not started: a budget has nothing left.' };
	const reserved = typeof answer.capUsd === 'number' ? floorCents(answer.capUsd) : undefined;
	const capUsd =
		reserved === undefined
			? maxBudgetUsd
			: maxBudgetUsd === undefined
				? reserved
				: Math.min(reserved, maxBudgetUsd);
	const path = `/api/v1/budgets/reservations/${runId}/renew`;
	const timer = setInterval(
		() => {
			client.request('POST', path, { ttlSeconds: RESERVATION_TTL_SECONDS }).catch(() => undefined);
		},
		(RESERVATION_TTL_SECONDS / 3) * 1000,
	);
	timer.unref();
	return { granted: true, capUsd, stop: () => clearInterval(timer) };
}

/** The reservation a run asks for, on its own or with its lease. */
export const reservationAsk = (runId: string, maxBudgetUsd?: number) => ({
	runId,
	ttlSeconds: RESERVATION_TTL_SECONDS,
	...(maxBudgetUsd !== undefined ? { requestUsd: maxBudgetUsd } : {}),
});

// Rounded down to a hundredth of a cent so the printed flag never asks for more than was reserved; never 0,
// which claude would refuse.
const floorCents = (usd: number) => Math.max(0.0001, Math.floor(usd * 10_000) / 10_000);

/** A run that claude stopped at its --max-budget-usd ends `budget_reached`; it can be resumed once budgets allow. */
export function budgetStatus(outcome: RunOutcome): SessionStatus {
	return outcome.subtype === 'error_max_budget_usd' ? 'budget_reached' : outcome.status;
}

/** The output of a turn a budget did not let start: nothing ran and nothing was spent. */
export function refusedOutput(
	session: { id: string; threadKey: string | null },
	workspace: PreparedWorkspace,
	message: string,
): SessionOutput {
	return {
		sessionId: session.id,
		status: 'budget_exhausted',
		result: null,
		isError: true,
		costUsd: 0,
		usage: null,
		numTurns: 0,
		durationMs: 0,
		permissionDenials: [],
		workspace: outputWorkspace(workspace),
		threadKey: session.threadKey,
		errorMessage: message,
		hooksReceived: false,
	};
}
