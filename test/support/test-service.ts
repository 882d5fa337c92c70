import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../service/src/config';
import { createScratchDatabase } from './scratch-database';
import { startService, type RunningService } from '../../service/src/service';
import { sleep } from './wait';

export const TEST_API_KEY = 'test-api-key-0123456789abcdef';

/** Every database kind the suites run against: always the embedded one, PostgreSQL when TEST_DATABASE_URL is set. */
export const DATABASE_KINDS: Array<'pglite' | 'postgres'> = process.env.TEST_DATABASE_URL
	? ['pglite', 'postgres']
	: ['pglite'];
if (!process.env.TEST_DATABASE_URL && !process.env.__ORCH_WARNED) {
	process.env.__ORCH_WARNED = '1';
	process.stderr.write(
		'TEST_DATABASE_URL is not set: service suites run on the embedded database only.\n',
	);
}

export interface TestService extends RunningService {
	dataDir: string;
	auth: { Authorization: string };
	/** Closes the service (as a crash or deploy would) and starts it again on the same port and database. */
	restart(downMs?: number): Promise<void>;
	stop(): Promise<void>;
}

/**
 * Starts the real service on a free port with a fresh database of the given kind; `clock`, when given, is the
 * time the service reads (budgets take their periods from it).
 */
export async function startTestService(
	kind: 'pglite' | 'postgres',
	env: Record<string, string> = {},
	clock?: { now(): Date },
): Promise<TestService> {
	const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'orch-test-'));
	const scratch =
		kind === 'postgres' ? await createScratchDatabase(process.env.TEST_DATABASE_URL!) : undefined;
	const config = loadConfig({
		PORT: '0',
		DATA_DIR: dataDir,
		API_KEY: TEST_API_KEY,
		// A hook is answered once it is stored: the suites read back what they posted right after the answer. Past
		// 1.5 s (a busy machine) it would be answered 202 while still queued; that path has its own reliability suites.
		HOOK_ACK_TIMEOUT_MS: '60000',
		...(scratch ? { DATABASE_URL: scratch.url } : {}),
		...env,
	});
	const opts = clock ? { now: clock.now } : {};
	let service = await startService(config, opts);
	const handle: TestService = {
		...service,
		dataDir,
		auth: { Authorization: `Bearer ${TEST_API_KEY}` },
		async restart(downMs = 0) {
			const port = new URL(service.url).port;
			await service.close();
			await sleep(downMs);
			service = await startService({ ...config, port: Number(port) }, opts);
			Object.assign(handle, {
				db: service.db,
				app: service.app,
				server: service.server,
				close: service.close,
			});
		},
		async stop() {
			await service.close();
			await scratch?.drop();
			fs.rmSync(dataDir, { recursive: true, force: true });
		},
	};
	return handle;
}

/** The service for one describe block (`t.svc` in its tests): started before them, stopped after. */
export function serviceForSuite(
	kind: 'pglite' | 'postgres',
	env: Record<string, string> = {},
): { svc: TestService } {
	const t = {} as { svc: TestService };
	beforeAll(async () => {
		t.svc = await startTestService(kind, env);
	});
	afterAll(() => t.svc?.stop());
	return t;
}

/** fetch against the service with the API key unless other headers are given. */
export async function api(
	svc: { url: string },
	method: string,
	route: string,
	body?: unknown,
	headers: Record<string, string> = { Authorization: `Bearer ${TEST_API_KEY}` },
) {
	const res = await fetch(svc.url + route, {
		method,
		headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
		body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
	});
	// A live stream (text/event-stream) never ends: its status and headers are the answer.
	if (res.headers.get('content-type')?.startsWith('text/event-stream')) {
		await res.body?.cancel();
		return { status: res.status, body: undefined, headers: res.headers };
	}
	const text = await res.text();
	let json: any;
	try {
		json = text ? JSON.parse(text) : undefined;
	} catch {
		json = text;
	}
	return { status: res.status, body: json, headers: res.headers };
}
