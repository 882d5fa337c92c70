import { setTimeout as sleep } from 'node:timers/promises';
import crypto from 'node:crypto';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
	buildClaudeArgs,
	buildHookSettings,
	findClaude,
	localLauncher,
	runClaude,
	type PreparedWorkspace,
	type ProcessLauncher,
	type RunOutcome,
	type WorkspaceType,
} from '../runner';
import {
	E2bLauncher,
	WorkspaceError,
	hookUrlForSandbox,
	prepareWorkspace,
	reopenWorkspace,
	type StoredWorkspace,
	type WorkspaceDeps,
	type WorkspaceRequest,
} from '../workspaces';
import { readSandboxFile, sandboxClaudeConfigDir, writeSandboxFile } from '../workspaces/e2b-files';
import { assertAnthropicCredentials } from './anthropic-credentials';
import { budgetStatus, refusedOutput, reservationAsk, reserveBudget } from './budget';
import {
	hasApprovalPolicy,
	markGatedPreToolUse,
	pendingApprovalFor,
	sendApprovalPolicy,
	type PendingApproval,
} from './approvals';
import { httpStatusOf, withRetry, type OrchestratorClient } from './client';
import { duplicateOutput, withEventKey, type HeldEventKey } from './event-key';
import { costTelemetryEnv } from './cost-telemetry';
import {
	claimSession,
	giveBackRunStart,
	holdLease,
	newLeaseOwner,
	SessionBusyError,
	type ClaimExtras,
	type RunStart,
	type SessionLease,
	type StopRequest,
} from './lease';
import {
	combinedPrompt,
	leaseOrQueue,
	newRunId,
	queuedBudget,
	releaseQueued,
	takeQueued,
	type IdleOutput,
	type QueuedOutput,
	type WhenBusy,
} from './queued-replies';
import { outputWorkspace } from './output-workspace';
import type { RunOptions } from './run-options';
import { serviceSink } from './service-sink';
import {
	orchestratorSettings,
	TELEMETRY_LOGS_PATH,
	type CreateSessionRequest,
	type LeaseGrant,
	type RunReport,
	type Session,
	type Thread,
} from '../protocol';
import {
	MissingConversationError,
	localTranscriptFile,
	projectSlug,
	restoreTranscript,
	storedTranscriptMeta,
	transcriptPath,
	uploadTranscript,
	type TranscriptFile,
	type TranscriptMeta,
} from './transcript';

export const HOOK_TOKEN_ENV = 'CLAUDE_ORCHESTRATOR_HOOK_TOKEN';
// The run's own timeout plus the time to wait out a service restart (drainMs) and start claude; capped as the service caps it.
const HOOK_TOKEN_MARGIN_SECONDS = 120;
const HOOK_TOKEN_MAX_TTL_SECONDS = 7 * 24 * 3600;
// How long a token and a reservation brought by the lease are used as they are (the reservation lives 120 s).
const RUN_START_FRESH_MS = 30_000;

/**
 * A hook token's life and a reservation's lease start when they are issued, and runTurn renews the reservation
 * from its start: they are asked for with the claim only for a workspace that opens at once, not for a sandbox to
 * reconnect or a clone to make again on this worker (minutes, for a large repository).
 */
const opensAtOnce = (ws: { type: StoredWorkspace['type']; path: string }) =>
	ws.type === 'local' || ws.type === 'worktree' || (ws.type === 'github' && existsSync(ws.path));

/**
 * What claude needs before it starts, asked for with the run's lease (a Resume's claim, a Start's creation): the
 * service answers it once the lease is granted, and the run starts claude a round of requests sooner. What the
 * grant does not bring, runTurn asks for itself.
 */
function runStartAsk(runId: string, options: RunOptions, resume: boolean): ClaimExtras {
	return {
		hookToken: { ttlSeconds: hookTokenTtlSeconds(options) },
		budgetReservation: reservationAsk(runId, options.maxBudgetUsd),
		...(resume ? { withTranscriptMeta: true } : {}),
	};
}

// A token for this run only, asked for while the run holds the session's lease: the previous run's token stops
// working, and this one ends with the run (plus the service's grace period for late hooks) or past its timeout.
const hookTokenTtlSeconds = (options: RunOptions) =>
	Math.min(HOOK_TOKEN_MAX_TTL_SECONDS, options.timeoutSeconds + HOOK_TOKEN_MARGIN_SECONDS);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** One output item of Claude Session Start / Claude Resume (public: workflows read these fields). */
export interface SessionOutput {
	sessionId: string;
	status: string;
	result: string | null;
	isError: boolean;
	costUsd: number;
	usage: Record<string, unknown> | null;
	numTurns: number;
	durationMs: number;
	permissionDenials: unknown[];
	workspace: { type: WorkspaceType; path: string; branch: string | null; sandboxId?: string };
	threadKey: string | null;
	errorMessage?: string;
	hooksReceived: boolean;
	cliVersion?: string;
	/** With status `waiting_approval`: the call that waits for a person. Resume the session once they decided. */
	pendingApproval?: PendingApproval;
	/** Said when the workspace had to be recreated on this worker (what could not be recovered). */
	notices?: string[];
	/** With status `duplicate`: the event's key was claimed before, by this start or resume; nothing ran. */
	duplicateOf?: { eventKey: string; sessionId: string; action: 'start' | 'resume'; at: string };
	/** With status `stopped`: who asked for the stop, from where, and when. */
	stoppedBy?: StopRequest;
	/** How many replies queued during the previous turn this turn took (its prompt holds them, in arrival order). */
	repliesTaken?: number;
	/** Those replies: who wrote each, where, its own id (to answer a Slack ts or an email Message-ID), when. */
	takenReplies?: Array<{
		author: string;
		channel: string;
		replyId: string | null;
		queuedAt: string;
	}>;
}

type StoredSession = Session;

export interface StartRequest {
	prompt: string;
	/** A uuid chosen by the workflow (to answer a webhook before the run ends); generated when absent. */
	sessionId?: string;
	workspace: Omit<WorkspaceRequest, 'sessionId' | 'shallow' | 'e2b'>;
	threadKey?: string;
	options: RunOptions;
	signal?: AbortSignal;
	/** Overrides for tests; by default from n8n's environment (settings.ts). */
	deps?: Partial<WorkspaceDeps>;
}

export interface ResumeRequest {
	sessionId?: string;
	threadKey?: string;
	prompt?: string;
	/** While another turn runs: queue the reply, wait for the lease (default here; the node's default is queue), or fail. */
	whenBusy?: WhenBusy;
	/** Who wrote the prompt and where (marks it among queued replies), and its own id (queued once). */
	author?: string;
	channel?: string;
	replyId?: string;
	/** Take Queued: run a turn with the replies that waited, and nothing else; returns at once if another turn runs. */
	takeQueued?: boolean;
	options: RunOptions;
	githubToken?: string;
	signal?: AbortSignal;
	deps?: Partial<WorkspaceDeps>;
}

function workspaceDeps(
	client: OrchestratorClient,
	overrides: Partial<WorkspaceDeps> = {},
): WorkspaceDeps {
	const s = orchestratorSettings();
	return {
		allowedRoots: s.allowedRoots,
		workspacesDir: s.workspacesDir,
		cacheDir: s.cacheDir,
		worktreesDir: s.worktreesDir,
		remoteBaseUrl: s.githubBaseUrl,
		publicUrl: client.publicUrl,
		localLauncher,
		...overrides,
	};
}

function e2bSettings(options: RunOptions) {
	const apiKey = options.env.E2B_API_KEY || orchestratorSettings().e2bApiKey;
	return apiKey
		? {
				apiKey,
				template: options.e2bTemplate,
				idleTimeoutMs: options.e2bIdleTimeoutMinutes
					? options.e2bIdleTimeoutMinutes * 60_000
					: undefined,
			}
		: undefined;
}

export async function startSession(
	client: OrchestratorClient,
	req: StartRequest,
): Promise<SessionOutput> {
	if (!req.prompt?.trim()) throw new Error('Prompt is empty: Claude Session Start needs a prompt.');
	const sessionId = req.sessionId?.trim().toLowerCase() || crypto.randomUUID();
	if (!UUID.test(sessionId))
		throw new Error(
			`Session ID "${req.sessionId}" is not a uuid such as 1783e529-b137-4c6a-bc9b-97b1e0374b55.`,
		);
	return withEventKey(
		client,
		{ key: req.options.eventKey, sessionId, action: 'start' },
		(earlier) =>
			duplicateOutput(earlier, req.threadKey ?? null, {
				type: req.workspace.type,
				path: '',
				branch: null,
			}),
		(held) => startClaimed(client, req, sessionId, held),
	);
}

async function startClaimed(
	client: OrchestratorClient,
	req: StartRequest,
	sessionId: string,
	heldKey: HeldEventKey | undefined,
): Promise<SessionOutput> {
	const deps = workspaceDeps(client, req.deps);
	const workspace = await prepareWorkspace(
		{
			...req.workspace,
			sessionId,
			shallow: req.options.shallowClone,
			e2b: req.workspace.type === 'e2b' ? e2bSettings(req.options) : undefined,
		},
		deps,
	);
	// The session is created with its first run's lease taken (one request where there were two), and with what
	// claude needs before it starts (runStartAsk).
	const owner = newLeaseOwner();
	const runId = newRunId();
	const body = {
		id: sessionId,
		prompt: req.prompt,
		status: 'running',
		workspaceType: workspace.type,
		workspacePath: workspace.path,
		workspaceBranch: workspace.branch,
		sandboxId: workspace.sandboxId,
		repository: workspace.repository ?? req.workspace.repository,
		model: req.options.model,
		threadKey: req.threadKey,
		...(req.options.threadMetadata ? { threadMetadata: req.options.threadMetadata } : {}),
	} satisfies CreateSessionRequest;
	const created = await client
		.request<StoredSession & { lease?: LeaseGrant }>('POST', '/api/v1/sessions', {
			...body,
			lease: { owner, ...runStartAsk(runId, req.options, false) },
		} satisfies CreateSessionRequest)
		.catch((error: unknown) => {
			// A service that cannot create with a lease refuses the field: create, then claim, as it expects.
			if (httpStatusOf(error) === 400 && /\blease\b/.test((error as Error).message))
				return client.request<StoredSession & { lease?: LeaseGrant }>(
					'POST',
					'/api/v1/sessions',
					body,
				);
			throw error;
		});
	const lease = created.lease
		? holdLease(client, sessionId, owner, created.lease.ttlSeconds, created.lease)
		: undefined;
	const policy = req.options.approvalPolicy;
	try {
		if (policy) {
			await sendApprovalPolicy(client, sessionId, policy).catch(async (error: unknown) => {
				// Nothing ran: say so on the session rather than leave it "running".
				await client
					.request('PATCH', `/api/v1/sessions/${sessionId}`, {
						status: 'failed',
						errorMessage: (error as Error).message,
					})
					.catch(() => undefined);
				throw error;
			});
		}
	} catch (error) {
		if (lease) await giveBackRunStart(client, sessionId, runId, lease.prepared);
		await lease?.release();
		throw error;
	}
	const held =
		lease ??
		(await claimSession(client, sessionId, req.options.queueTimeoutSeconds * 1000, req.signal));
	try {
		return await runTurn(client, {
			session: created,
			workspace,
			prompt: req.prompt,
			kind: 'start',
			options: req.options,
			gated: Boolean(policy),
			signal: req.signal,
			lease: held,
			runId,
			onSpawned: heldKey?.launched,
		});
	} finally {
		await held.release();
	}
}

/** A Resume that waits for a busy session (bounded) or fails: it always runs a turn. */
export async function resumeSession(
	client: OrchestratorClient,
	req: Omit<ResumeRequest, 'takeQueued'> & { whenBusy?: 'wait' | 'fail' },
): Promise<SessionOutput> {
	return (await resumeOrQueue(client, {
		...req,
		whenBusy: req.whenBusy ?? 'wait',
	})) as SessionOutput;
}

/** Claude Resume: runs a turn, or queues the reply while another turn runs (When Busy), or takes the queued replies. */
export async function resumeOrQueue(
	client: OrchestratorClient,
	req: ResumeRequest,
): Promise<SessionOutput | QueuedOutput | IdleOutput> {
	const bound = req.sessionId?.trim()
		? { sessionId: req.sessionId.trim() }
		: await threadSession(client, req.threadKey);
	const { sessionId } = bound;
	// The thread lookup brings the session with it (one request where there were two); an older service does not.
	const session =
		bound.session ??
		(await client
			.request<StoredSession>('GET', `/api/v1/sessions/${encodeURIComponent(sessionId)}`)
			.catch((error: unknown) => {
				if (httpStatusOf(error) === 404)
					throw new Error(`Unknown session ${sessionId}: the service has no session with this id.`);
				throw error;
			}));
	const ws = session.workspace;
	if (!ws.type || ws.type === 'external' || !ws.path) {
		throw new Error(
			`Session ${sessionId} was not started by Claude Session Start (it has no workspace recorded), so it cannot be resumed here.`,
		);
	}
	const workspace = { type: ws.type, path: ws.path, branch: ws.branch };
	// Before queueing or waiting: a reply delivered twice is queued (or run) once. A reply queued for a later turn
	// keeps its key: it is answered by that turn.
	return withEventKey(
		client,
		{ key: req.takeQueued ? undefined : req.options.eventKey, sessionId, action: 'resume' },
		(earlier) => duplicateOutput(earlier, session.threadKey, workspace),
		(held) => resumeClaimed(client, req, sessionId, session, held),
	);
}

async function resumeClaimed(
	client: OrchestratorClient,
	req: ResumeRequest,
	sessionId: string,
	session: StoredSession,
	held: HeldEventKey | undefined,
): Promise<SessionOutput | QueuedOutput | IdleOutput> {
	// resumeOrQueue has checked that the session has a workspace of its own.
	const ws = session.workspace as StoredSession['workspace'] & {
		type: StoredWorkspace['type'];
		path: string;
	};
	// Written beside the lease claim, and done before anything else happens (the run's events carry it, and a
	// failure is the Resume's error, as before, whether the reply then runs or is queued).
	const metadataRecorded = req.options.threadMetadata
		? recordThreadMetadata(client, session, req.threadKey, req.options.threadMetadata)
		: undefined;
	metadataRecorded?.catch(() => undefined);
	// Whether the session runs under a stored approval policy: said by the lease claim.
	const needPolicy = !req.options.approvalPolicy && session.status !== 'waiting_approval';
	const idle = (status: IdleOutput['status'], message: string): IdleOutput => ({
		sessionId,
		status,
		threadKey: session.threadKey,
		isError: false,
		costUsd: 0,
		message,
	});
	const runId = newRunId();
	// Replies that waited for the lease go first, in arrival order: this turn answers them with its own prompt.
	const ownPrompt = req.takeQueued ? undefined : req.prompt?.trim() || undefined;
	const own = ownPrompt
		? {
				content: ownPrompt,
				author: req.author?.trim() || 'someone',
				channel: req.channel?.trim() || 'n8n',
			}
		: undefined;
	// Only as many as fit one argument to claude beside the Resume's own prompt; the rest wait for the next turn
	// (Reply Queued fires again when this one ends). Take Queued always gets the oldest (each fits alone).
	const budget = queuedBudget(own);
	// The claim takes them in its own transaction once granted (the take was the next request after it).
	const extras = {
		...(budget > 0 ? { takeQueued: { runId, maxBytes: budget } } : {}),
		...(needPolicy ? { withApprovalPolicy: true } : {}),
		...(opensAtOnce(ws) ? runStartAsk(runId, req.options, true) : {}),
	};
	let lease: SessionLease;
	try {
		if (req.takeQueued) {
			try {
				lease = await claimSession(client, sessionId, 0, req.signal, extras);
			} catch (error) {
				if (!(error instanceof SessionBusyError)) throw error;
				await metadataRecorded;
				return idle(
					'busy',
					'Another turn is running; the replies stay queued, and Reply Queued fires again when it ends.',
				);
			}
		} else {
			const got = await leaseOrQueue(
				client,
				{ sessionId, threadKey: session.threadKey },
				req.whenBusy ?? 'wait',
				req,
				req.options.queueTimeoutSeconds * 1000,
				req.signal,
				{ extras, beforeQueueing: metadataRecorded },
			);
			if (!('release' in got)) {
				await metadataRecorded;
				return got;
			}
			lease = got;
		}
	} catch (error) {
		await Promise.allSettled([metadataRecorded]);
		throw error;
	}
	// Whether claude was started with the taken replies. Before that they were not answered (the workspace is gone,
	// the budget is spent, claude is missing or refused its arguments, the service failed): they go back to the
	// queue and are announced again when the lease is released. Once the process exists they count as handed over,
	// whatever the run's end: claude has read its prompt, and answering them twice is worse than a failed turn.
	let spawned = false;
	// From runTurn on, the run's records settle the reservation its lease brought; before, nothing would.
	let turnStarted = false;
	const took = budget > 0;
	const giveBack = async () => {
		if (!took || spawned) return;
		await releaseQueued(client, sessionId, lease, runId).catch(() => undefined);
	};
	try {
		await metadataRecorded;
		// A service that cannot take them with the claim: asked now.
		const queued = !took
			? []
			: (lease.taken ??
				(await takeQueued(client, sessionId, lease, runId, budget).catch((error: unknown) => {
					if (httpStatusOf(error) === 404) return []; // a service without queued replies
					throw error;
				})));
		if (req.takeQueued && !queued.length)
			return idle('nothing_queued', 'No reply was waiting: another turn has taken them.');
		const prompt = queued.length ? combinedPrompt(queued, own) : ownPrompt;
		// Asked now only of a service whose claim did not say.
		const storedPolicy =
			needPolicy && lease.approvalPolicy === undefined
				? hasApprovalPolicy(client, sessionId)
				: undefined;
		storedPolicy?.catch(() => undefined);
		const stored: StoredWorkspace = {
			type: ws.type,
			path: ws.path,
			branch: ws.branch ?? undefined,
			repository: session.repository ?? undefined,
			sandboxId: ws.sandboxId ?? undefined,
			e2b: ws.type === 'e2b' ? e2bSettings(req.options) : undefined,
			sessionId,
			githubToken: req.githubToken,
			shallow: req.options.shallowClone,
		};
		const deps = workspaceDeps(client, req.deps);
		const workspace = await reopenWorkspace(stored, deps).catch((error: unknown) => {
			if (error instanceof WorkspaceError && error.code === 'sandbox_gone')
				return replaceExpiredSandbox(client, stored, req.options, deps);
			throw error;
		});
		const moved = {
			...(workspace.path !== ws.path ? { workspacePath: workspace.path } : {}),
			...(workspace.sandboxId && workspace.sandboxId !== ws.sandboxId
				? { sandboxId: workspace.sandboxId }
				: {}),
		};
		if (Object.keys(moved).length > 0)
			await withRetry(() => client.request('PATCH', `/api/v1/sessions/${sessionId}`, moved));
		// A Resume's own policy replaces the stored one; without one the session keeps the policy it has.
		const policy = req.options.approvalPolicy;
		if (policy) await sendApprovalPolicy(client, sessionId, policy);
		// A call deferred earlier is answered from its recorded decision even if the policy has gone since.
		const gated =
			Boolean(policy) ||
			session.status === 'waiting_approval' ||
			Boolean(lease.approvalPolicy) ||
			Boolean(await storedPolicy);
		turnStarted = true;
		const out = await runTurn(client, {
			session,
			workspace,
			prompt,
			kind: 'resume',
			options: req.options,
			gated,
			signal: req.signal,
			lease,
			runId,
			onSpawned: () => {
				spawned = true;
				held?.launched();
			},
		});
		// Refused before claude started (the budget is spent): nothing answered the replies.
		await giveBack();
		if (!queued.length || !spawned) return out;
		const takenReplies = queued.map((m) => ({
			author: m.author,
			channel: m.channel,
			replyId: m.externalId ?? null,
			queuedAt: m.queuedAt,
		}));
		return { ...out, repliesTaken: queued.length, takenReplies };
	} catch (error) {
		await giveBack();
		throw error;
	} finally {
		if (!turnStarted) await giveBackRunStart(client, sessionId, runId, lease.prepared);
		await lease.release();
	}
}

/**
 * The session's E2B sandbox expired (or was stopped) between turns: its files are gone, but the conversation is
 * kept by the service. A new sandbox with the Resume's E2B settings gets the repository and branch again (as the
 * remote has them); the conversation is put back into it before claude runs (runTurn).
 */
async function replaceExpiredSandbox(
	client: OrchestratorClient,
	stored: StoredWorkspace,
	options: RunOptions,
	deps: WorkspaceDeps,
) {
	const sessionId = stored.sessionId!;
	// Checked before a new sandbox (which costs money) exists: without the conversation there is nothing to resume.
	if (!(await storedTranscriptMeta(client, sessionId))) {
		throw new MissingConversationError(
			`Session ${sessionId} cannot be resumed: its E2B sandbox ${stored.sandboxId} has expired, taking the conversation with it, ` +
				'and the service holds no copy of the conversation. Claude Code would start a new conversation instead, so the run was not started. Start a new session.',
		);
	}
	const workspace = await prepareWorkspace(
		{
			type: 'e2b',
			sessionId,
			repository: stored.repository,
			branch: stored.branch,
			githubToken: stored.githubToken,
			shallow: stored.shallow,
			e2b: e2bSettings(options),
		},
		deps,
	);
	const prepared = workspace.repository
		? `${workspace.repository} was cloned again with branch ${workspace.branch} as the remote has it`
		: 'its working folder is empty';
	return {
		...workspace,
		notice:
			`The E2B sandbox ${stored.sandboxId} of this session had expired, so a new sandbox ${workspace.sandboxId} was started: ${prepared}, ` +
			'and the conversation was restored from the service. Uncommitted or unpushed work from the earlier sandbox could not be recovered.',
	};
}

/** Where claude keeps the session's conversation: under this worker's home, or inside the session's sandbox. */
async function transcriptFileFor(
	workspace: PreparedWorkspace,
	env: Record<string, string>,
	sessionId: string,
): Promise<TranscriptFile> {
	if (!(workspace.launcher instanceof E2bLauncher))
		return localTranscriptFile(transcriptPath(env, workspace.path, sessionId));
	const { sandbox } = workspace.launcher;
	const file = path.posix.join(
		await sandboxClaudeConfigDir(sandbox, env),
		'projects',
		projectSlug(workspace.path),
		`${sessionId}.jsonl`,
	);
	return {
		where: `in E2B sandbox ${sandbox.sandboxId} (looked for ${file})`,
		read: () => readSandboxFile(sandbox, file),
		write: (data) => writeSandboxFile(sandbox, file, data),
	};
}

/** The session bound to a thread key, with the session itself when the service sends it along. */
async function threadSession(
	client: OrchestratorClient,
	threadKey: string | undefined,
): Promise<{ sessionId: string; session?: StoredSession }> {
	if (!threadKey?.trim())
		throw new Error('Resume needs a session id or a thread key; both are empty.');
	try {
		const thread = await client.request<Thread>(
			'GET',
			`/api/v1/threads/${encodeURIComponent(threadKey.trim())}`,
			undefined,
			{ include: 'session' },
		);
		return { sessionId: thread.sessionId, session: thread.session };
	} catch (error) {
		if (httpStatusOf(error) === 404)
			throw new Error(
				`Unknown thread key ${threadKey}: no session is bound to it. Start a session for this thread first.`,
			);
		throw error;
	}
}

export async function sessionForThread(
	client: OrchestratorClient,
	threadKey: string | undefined,
): Promise<string> {
	if (!threadKey?.trim())
		throw new Error('Resume needs a session id or a thread key; both are empty.');
	try {
		const thread = await client.request<{ sessionId: string }>(
			'GET',
			`/api/v1/threads/${encodeURIComponent(threadKey.trim())}`,
		);
		return thread.sessionId;
	} catch (error) {
		if (httpStatusOf(error) === 404)
			throw new Error(
				`Unknown thread key ${threadKey}: no session is bound to it. Start a session for this thread first.`,
			);
		throw error;
	}
}

/** Before the run, so the run's own events (a budget it passes) carry what the thread's latest message says. */
async function recordThreadMetadata(
	client: OrchestratorClient,
	session: StoredSession,
	threadKey: string | undefined,
	metadata: Record<string, unknown>,
) {
	const key = threadKey?.trim() || session.threadKey;
	if (!key)
		throw new Error(
			`Thread Metadata was given, but session ${session.id} is bound to no thread: start it with a Thread Key, or resume it by one.`,
		);
	await withRetry(() =>
		client.request('PUT', `/api/v1/threads/${encodeURIComponent(key)}`, {
			sessionId: session.id,
			metadata,
		}),
	);
}

interface Turn {
	session: StoredSession;
	workspace: PreparedWorkspace;
	prompt?: string;
	kind: 'start' | 'resume';
	options: RunOptions;
	/** The session runs under an approval policy: its PreToolUse hook is marked so the service fails closed. */
	gated: boolean;
	signal?: AbortSignal;
	/** The session's lease: its stop signal ends the run as `stopped`. */
	lease?: SessionLease;
	runId?: string;
	/** Called once the claude process exists (its launch succeeded): from then on the prompt has been handed over. */
	onSpawned?: () => void;
}

async function runTurn(client: OrchestratorClient, turn: Turn): Promise<SessionOutput> {
	const { session, workspace, options } = turn;
	const sessionPath = `/api/v1/sessions/${session.id}`;
	const runId = turn.runId ?? crypto.randomUUID();
	const startedAt = new Date().toISOString();
	const inSandbox = workspace.type === 'e2b';

	const env: Record<string, string> = {};
	for (const [k, v] of Object.entries(process.env)) if (typeof v === 'string') env[k] = v;
	Object.assign(env, options.env);

	const record = (body: Omit<RunReport, 'kind' | 'startedAt'>) =>
		withRetry(() =>
			client.request('PUT', `${sessionPath}/runs/${runId}`, {
				kind: turn.kind,
				startedAt,
				// Kept by the service from the first record of the run on, and handed to the session's Hook Trigger deliveries.
				...(options.statusMessage ? { statusMessage: options.statusMessage } : {}),
				...body,
			} satisfies RunReport),
		);
	// What claude needs before it starts: the budget (its cap is a flag), the run's hook token and, on a resume, this
	// worker's copy of the conversation. The lease's grant usually brought them; what it did not is asked for at once,
	// not one request after another (the lease is held, so nothing else touches the session meanwhile). What the
	// grant brought is used while fresh: a token's life and a reservation's lease run from when they were issued, and
	// renewing starts below. Past that (a slow workspace, a service restart ridden out) the run asks again: the same
	// run's reservation is extended, a new token issued.
	const prepared: RunStart =
		turn.lease && Date.now() - turn.lease.prepared.receivedAt < RUN_START_FRESH_MS
			? turn.lease.prepared
			: {};
	const transcript = {
		file: await transcriptFileFor(workspace, env, session.id).catch(async (error: unknown) => {
			// Nothing will record this run, which would settle the reservation its lease brought: give it back.
			if (turn.lease) await giveBackRunStart(client, session.id, runId, turn.lease.prepared);
			throw error;
		}),
		knownSha256: undefined as string | undefined,
		stored: undefined as TranscriptMeta | undefined,
	};
	// Sent as soon as claude has exited (the file is complete then), beside the stream's drain; asked again after the
	// drain when that failed (the drain rides out a service restart, the early upload may have met it).
	let transcriptSaved: Promise<unknown> | undefined;
	const saveTranscript = () =>
		(transcriptSaved ??= uploadTranscript(client, session.id, transcript.file, {
			runId,
			knownSha256: transcript.knownSha256,
			stored: transcript.stored,
		}).catch((error: unknown) => {
			transcriptSaved = undefined;
			throw error;
		}));
	const settled = <T>(p: Promise<T>) => (p.catch(() => undefined), p);
	const tokenAnswer = settled(
		(async () => {
			assertAnthropicCredentials(env);
			return (
				prepared.hookToken ??
				client.request<{ hookToken: string }>('POST', `${sessionPath}/hook-token`, {
					ttlSeconds: hookTokenTtlSeconds(options),
				})
			);
		})(),
	);
	// Another worker (or an expired sandbox) may hold the last turn: bring its conversation here before claude looks for it.
	const restored =
		turn.kind === 'resume'
			? settled(restoreTranscript(client, session.id, transcript.file, prepared.transcriptMeta))
			: undefined;
	const budget = await reserveBudget(
		client,
		session.id,
		runId,
		options.maxBudgetUsd,
		prepared.budgetReservation,
	).catch(async (error: unknown) => {
		await Promise.allSettled([tokenAnswer, restored]);
		throw error;
	});
	if (!budget.granted) {
		await Promise.allSettled([tokenAnswer, restored]);
		await record({
			status: 'budget_exhausted',
			prompt: turn.prompt ?? null,
			isError: true,
			errorMessage: budget.message,
			endedAt: new Date().toISOString(),
		});
		return refusedOutput(session, workspace, budget.message);
	}
	// The run record and the prompt message need not be there before claude starts, only before the node returns:
	// they are written beside the run. The final record waits for the first (same run, later state).
	let running: Promise<unknown> | undefined;
	let outcome: RunOutcome;
	try {
		const { hookToken } = await tokenAnswer;
		env[HOOK_TOKEN_ENV] = hookToken;
		const command = inSandbox
			? options.claudePath || 'claude'
			: findClaude({ claudePath: options.claudePath, env });
		// The service's address as claude reaches it: from a sandbox, its public URL.
		const serviceUrl = (path: string) =>
			inSandbox
				? hookUrlForSandbox(`${client.baseUrl}${path}`, {
						publicUrl: client.publicUrl,
						serviceBaseUrl: client.baseUrl,
					})
				: `${client.baseUrl}${path}`;
		const built = buildHookSettings({
			hookUrl: serviceUrl('/api/v1/hooks'),
			tokenEnvVar: HOOK_TOKEN_ENV,
		});
		// Each API request's cost as claude reports it, while the run goes on (Hook Trigger deliveries carry it).
		Object.assign(
			env,
			costTelemetryEnv(env, { endpoint: serviceUrl(TELEMETRY_LOGS_PATH), hookToken, runId }),
		);
		const settings = turn.gated ? markGatedPreToolUse(built) : built;
		const args = buildClaudeArgs({
			prompt: turn.prompt,
			sessionId: session.id,
			resume: turn.kind === 'resume',
			settings: settings as unknown as Record<string, unknown>,
			model: options.model,
			fallbackModel: options.fallbackModel,
			maxTurns: options.maxTurns,
			permissionMode: options.permissionMode,
			allowedTools: options.allowedTools,
			disallowedTools: options.disallowedTools,
			appendSystemPrompt: options.appendSystemPrompt,
			mcpConfig: options.mcpConfig,
			maxBudgetUsd: budget.capUsd,
			trustProjectSettings: options.trustProjectSettings,
		});
		if (restored) ({ sha256: transcript.knownSha256, stored: transcript.stored } = await restored);
		const promptAt = new Date().toISOString();
		running = settled(
			Promise.all([
				record({ status: 'running', prompt: turn.prompt ?? null }),
				// Stamped now, before claude starts: it sorts before everything the run's stream writes.
				turn.prompt &&
					client.request('POST', `${sessionPath}/messages`, {
						direction: 'user',
						content: turn.prompt,
						source: 'n8n',
						externalId: `run:${runId}`,
						createdAt: promptAt,
					}),
			]),
		);
		outcome = await runClaude({
			launcher: turn.onSpawned
				? spawnWatched(workspace.launcher, turn.onSpawned)
				: workspace.launcher,
			command,
			args,
			cwd: workspace.path,
			env,
			sink: serviceSink(client, session.id, { id: runId, kind: turn.kind }),
			timeoutMs: options.timeoutSeconds * 1000,
			signal: turn.signal,
			stopSignal: turn.lease?.stopSignal,
			// What the stream showed is the record of the run: wait out a service restart before giving up on it.
			drainMs: 30_000,
			onExited: () => void saveTranscript().catch(() => undefined),
		});
		await running;
	} catch (error) {
		const message = error instanceof Error ? error.message : String(error);
		await Promise.allSettled([running]);
		await record({
			status: 'failed',
			prompt: turn.prompt ?? null,
			isError: true,
			errorMessage: message,
			endedAt: new Date().toISOString(),
		}).catch(() => undefined);
		budget.stop();
		await saveTranscript().catch(() => undefined);
		throw error;
	}
	budget.stop();
	if (turn.kind === 'resume') outcome = checkResumedSession(outcome, session.id);
	// A PreToolUse hook deferred a call: claude has exited and nothing waits; a person decides, then a Resume runs it.
	const waiting = outcome.status === 'completed' && outcome.deferredToolUse !== undefined;
	const status = waiting ? 'waiting_approval' : budgetStatus(outcome);
	const stoppedBy = outcome.status === 'stopped' ? turn.lease?.stopRequest() : undefined;
	if (stoppedBy)
		outcome.errorMessage = `Stopped by ${stoppedBy.requestedBy} from ${stoppedBy.channel} at ${stoppedBy.requestedAt}.`;
	// The SessionStart event written from the stream's init line is ours, not a hook: it does not count.
	const fromStream = outcome.cliVersion !== undefined && outcome.undelivered.init === 0 ? 1 : 0;
	// Independent writes and reads, made at once; all are done before the lease is released (the caller's finally),
	// so the next turn, on whichever worker, finds this one's conversation and its settled run.
	const [, , hooksReceived] = await Promise.all([
		saveTranscript().catch(saveTranscript),
		record({
			status,
			result: outcome.result ?? null,
			isError: outcome.isError,
			subtype: outcome.subtype ?? null,
			terminalReason: outcome.terminalReason ?? null,
			errorMessage: outcome.errorMessage ?? null,
			costUsd: outcome.costUsd ?? 0,
			usage: outcome.usage ?? null,
			modelUsage: outcome.modelUsage ?? null,
			numTurns: outcome.numTurns ?? 0,
			durationMs: Math.round(outcome.durationMs ?? 0),
			permissionDenials: outcome.permissionDenials,
			cliVersion: outcome.cliVersion ?? null,
			exitCode: outcome.exitCode,
			endedAt: new Date().toISOString(),
			...(waiting ? { deferredToolUseId: outcome.deferredToolUse!.id } : {}),
		}),
		withRetry(() => hooksArrived(client, sessionPath, session.hookEventCount + fromStream)),
	]);
	if (!hooksReceived)
		await withRetry(() => client.request('PATCH', sessionPath, { hooksMissing: true }));
	const pendingApproval = waiting
		? await pendingApprovalFor(client, session.id, outcome.deferredToolUse!)
		: undefined;

	return {
		sessionId: session.id,
		status,
		result: outcome.result ?? null,
		isError:
			outcome.isError ||
			(status !== 'completed' && status !== 'waiting_approval' && status !== 'stopped'),
		costUsd: outcome.costUsd ?? 0,
		usage: outcome.usage ?? null,
		numTurns: outcome.numTurns ?? 0,
		durationMs: Math.round(outcome.durationMs ?? 0),
		permissionDenials: outcome.permissionDenials,
		workspace: outputWorkspace(workspace),
		threadKey: session.threadKey,
		...(outcome.errorMessage ? { errorMessage: outcome.errorMessage } : {}),
		hooksReceived,
		cliVersion: outcome.cliVersion,
		...(pendingApproval ? { pendingApproval } : {}),
		...(workspace.notice ? { notices: [workspace.notice] } : {}),
		...(stoppedBy ? { stoppedBy } : {}),
	};
}

/** The same launcher, telling `spawned` once a process it launched exists. */
function spawnWatched(launcher: ProcessLauncher, spawned: () => void): ProcessLauncher {
	return {
		launch: async (spec) => {
			const proc = await launcher.launch(spec);
			spawned();
			return proc;
		},
	};
}

/**
 * A resumed run must continue the conversation it was asked for. Claude Code has answered a missing conversation
 * with a new session id (and started afresh) in some versions: that is a failed run, never a silent new session.
 */
export function checkResumedSession(outcome: RunOutcome, sessionId: string): RunOutcome {
	if (outcome.sessionId !== undefined && outcome.sessionId !== sessionId) {
		return {
			...outcome,
			status: 'failed',
			isError: true,
			errorMessage:
				`Claude Code was asked to resume session ${sessionId} but ran session ${outcome.sessionId}: the conversation was not continued. ` +
				'Its transcript was probably missing on this worker.',
		};
	}
	if (
		outcome.status === 'failed' &&
		NO_CONVERSATION.test(`${outcome.errorMessage ?? ''} ${outcome.stderrTail}`)
	) {
		return {
			...outcome,
			errorMessage:
				`Claude Code found no conversation for session ${sessionId} on this worker (${os.hostname()}), so it could not be resumed. ${outcome.errorMessage ?? ''}`.trim(),
		};
	}
	return outcome;
}

const NO_CONVERSATION = /no conversation found/i;

/**
 * Every run fires HTTP hooks (UserPromptSubmit, Stop, …). If none reached the service, hooks are broken for this
 * session (service unreachable from claude, --bare, an old CLI): the stream still recorded everything, but say so.
 */
async function hooksArrived(
	client: OrchestratorClient,
	sessionPath: string,
	before: number,
): Promise<boolean> {
	// An event answered 202 is written a moment later; look twice before calling hooks missing.
	for (let attempt = 0; attempt < 3; attempt++) {
		const s = await client.request<{ hookEventCount: number }>('GET', sessionPath);
		if (s.hookEventCount > before) return true;
		await sleep(300);
	}
	return false;
}
