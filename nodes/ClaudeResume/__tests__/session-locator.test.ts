// Claude Resume 1.1's session picker against the real service: the list n8n shows, searched and paged.
import type { ILoadOptionsFunctions } from 'n8n-workflow';
import {
	api,
	startTestService,
	TEST_API_KEY,
	type TestService,
} from '../../../test/support/test-service';
import { hookContext } from '../../../test/support/trigger-receiver';
import { searchSessions, sessionTarget } from '../session-locator';

describe('Claude Resume: the session locator', () => {
	let svc: TestService;
	let ctx: ILoadOptionsFunctions;
	const ids: string[] = [];
	beforeAll(async () => {
		svc = await startTestService('pglite');
		// The hook context has what a load-options context needs here: the credential and n8n's HTTP helper.
		ctx = hookContext({
			webhookUrl: 'http://unused',
			parameters: {},
			staticData: {},
			credentials: { baseUrl: svc.url, apiKey: TEST_API_KEY },
		}) as unknown as ILoadOptionsFunctions;
		for (let n = 0; n < 55; n++) {
			const body = {
				prompt: `Task number ${n}${n === 7 ? ' about the flaky login test' : ''}`,
				workspaceType: 'worktree',
				workspacePath: `/srv/w/${n}`,
				threadKey: `slack:C1:${n}.0`,
			};
			const res = await api(svc, 'POST', '/api/v1/sessions', body);
			expect(res.status).toBe(201);
			ids.push(res.body.id);
		}
		// A session that Claude Session Start did not run cannot be resumed: the list leaves it out.
		expect(
			(
				await api(svc, 'POST', '/api/v1/hooks', {
					session_id: '0a0a0a0a-0000-4000-8000-000000000000',
					hook_event_name: 'UserPromptSubmit',
					prompt: 'Task number external',
				})
			).status,
		).toBe(200);
	});
	afterAll(() => svc?.stop());

	it('lists resumable sessions newest first, with a link to the dashboard, and pages with the service cursor', async () => {
		const first = await searchSessions.call(ctx);
		// The service's page of 50 holds the external session (newest) too; it is left out.
		expect(first.results.map((r) => r.value)).toEqual(ids.slice(6).reverse());
		expect(first.results[0]).toEqual({
			name: 'Task number 54 · created · slack:C1:54.0',
			value: ids[54],
			url: `${svc.url}/#/sessions/${ids[54]}`,
		});
		expect(first.paginationToken).toEqual(expect.any(String));
		const second = await searchSessions.call(ctx, undefined, first.paginationToken);
		expect(second.results.map((r) => r.value)).toEqual(ids.slice(0, 6).reverse());
		expect(second.results.map((r) => r.name).join()).not.toContain('external');
	});

	it('searches with the text typed into the list', async () => {
		const found = await searchSessions.call(ctx, 'flaky login');
		expect(found.results.map((r) => r.value)).toEqual([ids[7]]);
		expect(found.paginationToken).toBeUndefined();
	});

	it('maps each mode to what Resume looks the session up by', () => {
		expect(sessionTarget({ __rl: true, mode: 'list', value: ids[3] })).toEqual({
			sessionId: ids[3],
		});
		expect(sessionTarget({ __rl: true, mode: 'id', value: ` ${ids[3]} ` })).toEqual({
			sessionId: ids[3],
		});
		expect(sessionTarget({ __rl: true, mode: 'threadKey', value: 'slack:C1:3.0' })).toEqual({
			threadKey: 'slack:C1:3.0',
		});
	});
});
