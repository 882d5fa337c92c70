import * as fs from 'node:fs';
import * as path from 'node:path';
import { nodeOutput } from '../../scripts/n8n/n8n-instance';
import { pollUntil, sleep } from '../support/wait';
import {
	LEASE_TTL_SECONDS,
	QUEUE_WORKFLOW_IDS,
	RESUME_PATH,
	START_PATH,
	useQueueStack,
} from './queue-stack';

// 20 sessions across two queue-mode workers for 2 minutes (QUEUE_SOAK_SESSIONS / QUEUE_SOAK_SECONDS), worker A
// restarted in the middle. Every run must end completed or interrupted, none overlap within a session, no hook
// event is missing, and every Hook Trigger delivery is executed exactly once.
const SESSIONS = Number(process.env.QUEUE_SOAK_SESSIONS ?? 20);
const SECONDS = Number(process.env.QUEUE_SOAK_SECONDS ?? 120);

describe('n8n queue mode soak', () => {
	const stack = useQueueStack();

	it(`${SESSIONS} sessions for ${SECONDS} s while a worker restarts`, async () => {
		const { service } = stack;
		const started = Date.now();
		const end = started + SECONDS * 1000;
		const answers: Array<{ status: number; runStatus: string }> = [];
		const chain = async (i: number) => {
			const dir = path.join(stack.sharedRoot, `soak-${i}`);
			fs.mkdirSync(dir, { recursive: true });
			const threadKey = `slack:CSOAK:${started}.${String(i).padStart(6, '0')}`;
			const first = await stack.post(START_PATH, {
				prompt: `soak ${i} turn 0 [[bash:echo 0 >> turns.txt]]`,
				folder: dir,
				threadKey,
			});
			answers.push({ status: first.status, runStatus: first.body?.status });
			for (let turn = 1; Date.now() < end; turn++) {
				const res = await stack.post(RESUME_PATH, {
					threadKey,
					prompt: `soak ${i} turn ${turn} [[bash:echo ${turn} >> turns.txt]]`,
				});
				answers.push({ status: res.status, runStatus: res.body?.status });
			}
			return first.body?.sessionId as string | undefined;
		};
		const restart = (async () => {
			await sleep((SECONDS * 1000) / 3);
			const t0 = Date.now();
			await stack.cluster.workers[0].stop();
			await stack.cluster.workers[0].start();
			return Date.now() - t0;
		})();
		const ids = (await Promise.all(Array.from({ length: SESSIONS }, (_, i) => chain(i)))).filter(
			(id): id is string => Boolean(id),
		);
		const restartMs = await restart;

		// A run cut by the restart is interrupted once its lease expires: wait for that, then count.
		const rows = async () =>
			(
				await service.db.query<{
					session_id: string;
					status: string;
					started_at: Date;
					ended_at: Date | null;
				}>(
					'SELECT session_id, status, started_at, ended_at FROM session_runs WHERE session_id = ANY($1::uuid[]) ORDER BY session_id, started_at',
					[ids],
				)
			).rows;
		await pollUntil(
			async () => ((await rows()).every((r) => r.status !== 'running') ? true : undefined),
			(LEASE_TTL_SECONDS + 15) * 1000,
			'no run left running',
		);
		const runs = await rows();
		const byStatus: Record<string, number> = {};
		for (const r of runs) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
		let overlaps = 0;
		for (let k = 1; k < runs.length; k++) {
			const [prev, next] = [runs[k - 1], runs[k]];
			if (
				prev.session_id === next.session_id &&
				new Date(prev.ended_at ?? 0) > new Date(next.started_at)
			)
				overlaps++;
		}
		// Every completed run's Stop hook reached the service.
		const stops = await service.db.query<{ session_id: string; n: number }>(
			`SELECT session_id, count(*)::int AS n FROM hook_events WHERE session_id = ANY($1::uuid[]) AND event_name = 'Stop' GROUP BY session_id`,
			[ids],
		);
		const stopsBySession = new Map(stops.rows.map((r) => [r.session_id, r.n]));
		let hookEventsMissing = 0;
		for (const id of ids) {
			const completed = runs.filter((r) => r.session_id === id && r.status === 'completed').length;
			hookEventsMissing += Math.max(0, completed - (stopsBySession.get(id) ?? 0));
		}
		// Every delivery to the Session finished workflow ran once: wait until they are all delivered and executed.
		const delivered = async () =>
			(
				await service.db.query<{ id: string }>(
					`SELECT id FROM deliveries WHERE session_id = ANY($1::uuid[]) AND status = 'delivered'`,
					[ids],
				)
			).rows.map((r) => r.id);
		await pollUntil(
			async () =>
				(
					await service.db.query<{ n: number }>(
						`SELECT count(*)::int AS n FROM deliveries WHERE session_id = ANY($1::uuid[]) AND status = 'pending'`,
						[ids],
					)
				).rows[0].n === 0
					? true
					: undefined,
			120_000,
			'every delivery to be sent',
		);
		const deliveryIds = await delivered();
		const executedIds = async () =>
			(await stack.cluster.main.executions(QUEUE_WORKFLOW_IDS.finished))
				.map((e) => {
					try {
						return (nodeOutput(e, 'Claude Hook Trigger')[0] as { deliveryId?: string }).deliveryId;
					} catch {
						return undefined;
					}
				})
				.filter((id): id is string => Boolean(id) && deliveryIds.includes(id!));
		const executed = await pollUntil(
			async () => {
				const got = await executedIds();
				return got.length >= deliveryIds.length ? got : undefined;
			},
			120_000,
			'every delivery to be executed',
		);
		const executedTwice = executed.length - new Set(executed).size;
		const report = {
			sessions: ids.length,
			seconds: SECONDS,
			runs: runs.length,
			byStatus,
			webhookAnswers: answers.length,
			overlaps,
			hookEventsMissing,
			deliveries: deliveryIds.length,
			executions: executed.length,
			executedTwice,
			workerRestartMs: restartMs,
		};
		process.stdout.write(`[reliability] queue soak ${JSON.stringify(report)}\n`);

		expect(ids).toHaveLength(SESSIONS);
		expect(Object.keys(byStatus).filter((s) => s !== 'completed' && s !== 'interrupted')).toEqual(
			[],
		);
		expect(overlaps).toBe(0);
		expect(hookEventsMissing).toBe(0);
		expect(new Set(executed).size).toBe(deliveryIds.length);
		expect(executedTwice).toBe(0);
	}, 1_200_000);
});
