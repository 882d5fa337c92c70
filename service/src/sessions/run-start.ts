import type { LeaseGrant, LeaseRequest } from '../../../nodes/shared/protocol';
import type { Database } from '../db';
import { parse } from '../http/validate';
import { logger } from '../logger';
import { ReserveBody } from '../budgets/budgets.schema';
import { reserveForRun, type ReserveDeps } from '../budgets/reservations';
import { getTranscriptMeta } from '../transcripts/transcripts.repository';
import { issueHookToken, type SessionServiceDeps } from './sessions.service';

export type RunStartDeps = SessionServiceDeps & ReserveDeps;

type RunStartAsk = Pick<LeaseRequest, 'hookToken' | 'budgetReservation' | 'withTranscriptMeta'>;
type RunStartGrant = Pick<LeaseGrant, 'hookToken' | 'budgetReservation' | 'transcriptMeta'>;

const LeaseReservation = ReserveBody.omit({ sessionId: true });

/** The reservation a claim asks for, checked as POST /budgets/reservations checks it: before any lease is taken. */
export function runStartReservation(ask: RunStartAsk) {
	return ask.budgetReservation
		? parse(LeaseReservation, ask.budgetReservation, 'budgetReservation')
		: undefined;
}

/**
 * What claude needs before it starts, for a run whose lease was just granted: made one beside the other, each as its
 * own request would make it (token, reservation and transcript read in their own transactions, after the lease's),
 * so the locks are taken in the same order as when the run asked for them one by one. One that fails is left out
 * of the answer: the run then asks for it on its own and meets the error there.
 */
export async function prepareRunStart(
	deps: RunStartDeps & { db: Database },
	sessionId: string,
	ask: RunStartAsk,
	reservation: ReturnType<typeof runStartReservation>,
): Promise<RunStartGrant> {
	const [hookToken, budgetReservation, transcriptMeta] = await Promise.all([
		ask.hookToken
			? answered('hook token', issueHookToken(deps, deps.db, sessionId, ask.hookToken.ttlSeconds))
			: undefined,
		reservation &&
			answered('budget reservation', reserveForRun(deps.db, { ...reservation, sessionId }, deps)),
		ask.withTranscriptMeta
			? answered(
					'transcript metadata',
					getTranscriptMeta(deps.db, sessionId).then((m) => m ?? null),
				)
			: undefined,
	]);
	return {
		...(hookToken ? { hookToken } : {}),
		...(budgetReservation ? { budgetReservation } : {}),
		...(transcriptMeta !== undefined ? { transcriptMeta } : {}),
	};
}

/** Undefined for one that failed: logged here, left for the run's own request. */
function answered<T>(what: string, p: Promise<T>): Promise<T | undefined> {
	return p.catch((err: unknown) => {
		logger.warn(`${what} not answered with the lease; the run asks for it itself`, {
			error: err instanceof Error ? err.message : String(err),
		});
		return undefined;
	});
}
