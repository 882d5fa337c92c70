import { buildHookSettings, HOOK_EVENTS, HTTP_HOOK_UNSUPPORTED_EVENTS } from '../hook-settings';
import { ClaudeOptionError } from '../errors';

describe('buildHookSettings', () => {
	it('lists the 33 events of Claude Code 2.1.331', () => {
		expect(HOOK_EVENTS).toHaveLength(33);
		expect(new Set(HOOK_EVENTS).size).toBe(33);
		expect(HOOK_EVENTS).toEqual(
			expect.arrayContaining(['PreToolUse', 'PostToolUse', 'Stop', 'SessionEnd', 'MessageDisplay']),
		);
	});

	it('registers one http hook per event except SessionStart and Setup', () => {
		const settings = buildHookSettings({
			hookUrl: 'http://127.0.0.1:3001/api/v1/hooks',
			tokenEnvVar: 'CCO_HOOK_TOKEN',
		});
		const events = Object.keys(settings.hooks);
		expect(events).toHaveLength(31);
		expect(events).not.toContain('SessionStart');
		expect(events).not.toContain('Setup');
		expect(HTTP_HOOK_UNSUPPORTED_EVENTS).toEqual(['SessionStart', 'Setup']);
		for (const event of events) {
			expect(settings.hooks[event as keyof typeof settings.hooks]).toEqual([
				{
					matcher: '*',
					hooks: [
						{
							type: 'http',
							url: 'http://127.0.0.1:3001/api/v1/hooks',
							headers: { Authorization: 'Bearer $CCO_HOOK_TOKEN' },
							allowedEnvVars: ['CCO_HOOK_TOKEN'],
							timeout: 5,
						},
					],
				},
			]);
		}
	});

	it('takes a custom timeout and survives a JSON round trip unchanged', () => {
		const settings = buildHookSettings({
			hookUrl: 'https://svc.example/api/v1/hooks',
			tokenEnvVar: 'T',
			timeoutSeconds: 2,
		});
		expect(settings.hooks.PreToolUse?.[0].hooks[0].timeout).toBe(2);
		expect(JSON.parse(JSON.stringify(settings))).toEqual(settings);
	});

	it.each([
		[{ hookUrl: 'not a url', tokenEnvVar: 'T' }, /hookUrl/],
		[{ hookUrl: 'file:///etc/passwd', tokenEnvVar: 'T' }, /http\(s\)/],
		[{ hookUrl: 'http://x', tokenEnvVar: 'BAD-NAME' }, /tokenEnvVar/],
		[{ hookUrl: 'http://x', tokenEnvVar: '$T' }, /tokenEnvVar/],
		[{ hookUrl: 'http://x', tokenEnvVar: 'T', timeoutSeconds: 0 }, /timeoutSeconds/],
	])('rejects %j', (options, message) => {
		expect(() => buildHookSettings(options)).toThrow(ClaudeOptionError);
		expect(() => buildHookSettings(options)).toThrow(message);
	});
});
