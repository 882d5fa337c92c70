import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { promisify } from 'node:util';
import type { StoredTranscriptMeta } from '../protocol';
import { httpStatusOf, withRetry, type OrchestratorClient } from './client';

// Claude Code keeps a session's conversation in one file on the machine that ran it
// ($CLAUDE_CONFIG_DIR, default $HOME/.claude, /projects/<cwd slug>/<session>.jsonl; reference/claude-code-cli.md §8),
// and `claude --resume` on another machine finds nothing. The service keeps a copy: the runner sends the file
// after every run and, before a Resume, puts the service's copy in place when this worker has none or an older one.

const gzip = promisify(zlib.gzip);
const gunzip = promisify(zlib.gunzip);

/** What the service keeps about a session's stored conversation. */
export type TranscriptMeta = StoredTranscriptMeta;

export class MissingConversationError extends Error {}

/** Claude Code's folder name for a working directory: every character but ASCII letters and digits becomes "-". */
export function projectSlug(cwd: string): string {
	return cwd.replace(/[^a-zA-Z0-9]/g, '-');
}

/** Where claude, run with this environment in `cwd`, reads and writes the session's conversation. */
export function transcriptPath(
	env: Record<string, string | undefined>,
	cwd: string,
	sessionId: string,
): string {
	const configDir = env.CLAUDE_CONFIG_DIR || path.join(env.HOME || os.homedir(), '.claude');
	return path.join(configDir, 'projects', projectSlug(cwd), `${sessionId}.jsonl`);
}

/** The conversation file where claude runs: on this worker, or inside the session's E2B sandbox. */
export interface TranscriptFile {
	/** For messages: where it was looked for. */
	where: string;
	/** Undefined when there is no such file. */
	read(): Promise<Buffer | undefined>;
	write(data: Buffer): Promise<void>;
}

export function localTranscriptFile(file: string): TranscriptFile {
	return {
		where: `on this worker (${os.hostname()}, looked for ${file})`,
		async read() {
			try {
				return await fs.readFile(file);
			} catch (error) {
				if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
				throw error;
			}
		},
		async write(data) {
			await fs.mkdir(path.dirname(file), { recursive: true });
			// Written aside and renamed: a claude that starts meanwhile never reads half a conversation.
			const partial = `${file}.${process.pid}.${crypto.randomUUID()}.partial`;
			await fs.writeFile(partial, data, { mode: 0o600 });
			await fs.rename(partial, file);
		},
	};
}

interface LocalCopy {
	data: Buffer;
	sha256: string;
}

async function readLocal(file: TranscriptFile): Promise<LocalCopy | undefined> {
	const data = await file.read();
	return data && { data, sha256: crypto.createHash('sha256').update(data).digest('hex') };
}

const asFile = (file: string | TranscriptFile): TranscriptFile =>
	typeof file === 'string' ? localTranscriptFile(file) : file;

/** What the service holds of the session's conversation, or undefined when it holds none. */
export async function storedTranscriptMeta(
	client: OrchestratorClient,
	sessionId: string,
): Promise<TranscriptMeta | undefined> {
	try {
		return await withRetry(() =>
			client.request<TranscriptMeta>('GET', `/api/v1/sessions/${sessionId}/transcript/meta`),
		);
	} catch (error) {
		if (httpStatusOf(error) === 404) return undefined;
		throw error;
	}
}

export interface RestoreResult {
	/** What was decided: the local copy is current, the service's copy was written, or there is only a local copy. */
	action: 'kept' | 'restored' | 'local-only';
	/** The sha256 of the file as it now is on this worker. */
	sha256: string;
	/** What the service holds (undefined: nothing); the run's upload may continue it (uploadTranscript). */
	stored?: TranscriptMeta;
}

/**
 * Makes sure this worker has the session's latest conversation before `claude --resume` runs. Transcripts only
 * grow, so a local copy smaller than the one the service was last sent is older (another worker ran later turns).
 * Neither a local nor a stored copy: there is nothing to resume, and claude must not quietly start afresh.
 */
export async function restoreTranscript(
	client: OrchestratorClient,
	sessionId: string,
	file: string | TranscriptFile,
	/** The stored copy's metadata when already known (null: none is stored); asked for when undefined. */
	known?: TranscriptMeta | null,
): Promise<RestoreResult> {
	const target = asFile(file);
	const [meta, local] = await Promise.all([
		known === undefined ? storedTranscriptMeta(client, sessionId) : (known ?? undefined),
		readLocal(target),
	]);
	if (!meta && !local) {
		throw new MissingConversationError(
			`Session ${sessionId} cannot be resumed: its conversation is neither ${target.where} ` +
				'nor stored in the service. Claude Code would start a new conversation instead, so the run was not started.',
		);
	}
	if (!meta) return { action: 'local-only', sha256: local!.sha256 };
	if (local && (local.sha256 === meta.sourceSha256 || local.data.length > meta.sourceSizeBytes))
		return { action: 'kept', sha256: local.sha256, stored: meta };
	const stored = await withRetry(() =>
		client.request<{ contentGzipBase64: string; sha256: string }>(
			'GET',
			`/api/v1/sessions/${sessionId}/transcript`,
		),
	);
	const text = await gunzip(Buffer.from(stored.contentGzipBase64, 'base64'));
	await target.write(text);
	return {
		action: 'restored',
		sha256: crypto.createHash('sha256').update(text).digest('hex'),
		stored: meta,
	};
}

/**
 * Sends the session's conversation to the service after a run, unless it is unchanged since `knownSha256`.
 * No file means claude never got as far as writing one (it did not start): nothing to send. When the file begins
 * with what the service was last sent (`stored`), only the lines added since go: the work on both sides follows
 * the turn, not the whole conversation. A service that holds something else (409), or knows no appends (400),
 * is sent the whole file.
 */
export async function uploadTranscript(
	client: OrchestratorClient,
	sessionId: string,
	file: string | TranscriptFile,
	opts: {
		runId: string;
		knownSha256?: string;
		stored?: Pick<TranscriptMeta, 'sourceSha256' | 'sourceSizeBytes'>;
	},
): Promise<TranscriptMeta | undefined> {
	const local = await readLocal(asFile(file));
	if (!local || local.sha256 === opts.knownSha256) return undefined;
	const path = `/api/v1/sessions/${sessionId}/transcript`;
	const send = async (data: Buffer, append?: object) => {
		const contentGzipBase64 = (await gzip(data)).toString('base64');
		return withRetry(() =>
			client.request<TranscriptMeta>('PUT', path, {
				contentGzipBase64,
				runId: opts.runId,
				...append,
			}),
		);
	};
	const { stored } = opts;
	const from = stored && continues(local.data, stored);
	if (stored && from !== undefined) {
		try {
			return await send(local.data.subarray(from), {
				appendTo: { sourceSha256: stored.sourceSha256, sourceSizeBytes: stored.sourceSizeBytes },
				sourceSha256: local.sha256,
			});
		} catch (error) {
			const status = httpStatusOf(error);
			if (status !== 409 && status !== 400) throw error;
		}
	}
	return send(local.data);
}

/** Where the lines added to `data` since `stored` begin; undefined when `data` does not begin with it, line for line. */
function continues(
	data: Buffer,
	stored: Pick<TranscriptMeta, 'sourceSha256' | 'sourceSizeBytes'>,
): number | undefined {
	const at = stored.sourceSizeBytes;
	if (at <= 0 || at >= data.length || data[at - 1] !== 0x0a) return undefined;
	const prefix = crypto.createHash('sha256').update(data.subarray(0, at)).digest('hex');
	return prefix === stored.sourceSha256 ? at : undefined;
}
