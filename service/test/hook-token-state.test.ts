import { createAuth, type HookTokenState } from '../src/http/auth';
import { sleep } from '../../test/support/wait';

// How a hook token's revocation check behaves when the database is slow, away, or behind another replica.
const API_KEY = 'hook-token-state-key-0123456789';
const SESSION = '1783e529-b137-4c6a-bc9b-97b1e0374b55';
const bearer = (token: string) => ({
	headers: { authorization: `Bearer ${token}` },
	method: 'POST',
});
const inAnHour = () => new Date(Date.now() + 3_600_000);

describe('hook token state', () => {
	it('takes a token issued after the state this replica read (another replica issued it), and refuses the one it replaced', async () => {
		let generation = 3;
		const auth = createAuth({
			apiKey: API_KEY,
			tokenState: async (): Promise<HookTokenState> => ({ generation, endsAt: null }),
		});
		const old = auth.signHookToken(SESSION, 3, inAnHour());
		await expect(auth.hookWriter(bearer(old))).resolves.toEqual({
			kind: 'hook',
			sessionId: SESSION,
			generation: 3,
		});
		generation = 4; // issued elsewhere: this replica's cached state still says 3
		const next = auth.signHookToken(SESSION, 4, inAnHour());
		await expect(auth.hookWriter(bearer(next))).resolves.toEqual({
			kind: 'hook',
			sessionId: SESSION,
			generation: 4,
		});
		await expect(auth.hookWriter(bearer(old))).rejects.toMatchObject({
			status: 401,
			message: expect.stringMatching(/revoked/),
		});
	});

	it('answers within about a second when the database does not, using the last state read, or the signature and expiry alone', async () => {
		let mode: 'ok' | 'hang' | 'fail' = 'ok';
		let reads = 0;
		const auth = createAuth({
			apiKey: API_KEY,
			tokenState: (): Promise<HookTokenState> => {
				reads++;
				if (mode === 'hang') return new Promise(() => undefined);
				if (mode === 'fail') return Promise.reject(new Error('connection terminated'));
				return Promise.resolve({ generation: 2, endsAt: null });
			},
		});
		const live = auth.signHookToken(SESSION, 2, inAnHour());
		const revoked = auth.signHookToken(SESSION, 1, inAnHour());
		await expect(auth.hookWriter(bearer(live))).resolves.toMatchObject({ kind: 'hook' });
		mode = 'hang';
		auth.forgetHookTokens(SESSION);
		const started = Date.now();
		// Nothing read yet since it was forgotten: the signature and expiry decide.
		await expect(auth.hookWriter(bearer(revoked))).resolves.toMatchObject({ kind: 'hook' });
		expect(Date.now() - started).toBeLessThan(2000);

		const other = createAuth({
			apiKey: API_KEY,
			tokenState: () =>
				mode === 'fail'
					? Promise.reject(new Error('down'))
					: Promise.resolve({ generation: 2, endsAt: null }),
		});
		mode = 'ok';
		await expect(
			other.hookWriter(bearer(other.signHookToken(SESSION, 1, inAnHour()))),
		).rejects.toMatchObject({ status: 401 });
		mode = 'fail';
		await sleep(1100); // the state read is a second old: read again, and that read fails
		// The last state read still refuses the revoked token and takes the live one.
		await expect(
			other.hookWriter(bearer(other.signHookToken(SESSION, 1, inAnHour()))),
		).rejects.toMatchObject({ status: 401 });
		await expect(
			other.hookWriter(bearer(other.signHookToken(SESSION, 2, inAnHour()))),
		).resolves.toMatchObject({ kind: 'hook' });
		expect(reads).toBeGreaterThan(0);
	});

	it('refuses an expired token without asking the database', async () => {
		let reads = 0;
		const auth = createAuth({
			apiKey: API_KEY,
			tokenState: async () => (reads++, { generation: 1, endsAt: null }),
		});
		await expect(
			auth.hookWriter(bearer(auth.signHookToken(SESSION, 1, new Date(Date.now() - 1000)))),
		).rejects.toMatchObject({
			status: 401,
			message: expect.stringMatching(/expired at/),
		});
		expect(reads).toBe(0);
	});
});
