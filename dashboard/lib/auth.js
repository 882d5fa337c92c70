// @ts-check
import { h } from './dom.js';

// sessionStorage, not localStorage: the credential lives only as long as this tab, is not shared with other
// tabs, and is never sent by the browser on its own (unlike a cookie), so no other site can make requests with it.
const KEY = 'claude-orchestrator.token';

export const readToken = () => sessionStorage.getItem(KEY) ?? '';
export const saveToken = (token) => sessionStorage.setItem(KEY, token);
export const forgetToken = () => sessionStorage.removeItem(KEY);

/** The sign-in form: checks the credential with one read before keeping it. */
export function signInView({ check, onSignedIn, message }) {
	const input = h('input', {
		type: 'password',
		name: 'token',
		autocomplete: 'off',
		required: true,
		spellcheck: 'false',
		id: 'token',
	});
	const error = h('p', { class: 'error', role: 'alert' }, message ?? '');
	const button = h('button', { type: 'submit' }, 'Sign in');
	const form = h(
		'form',
		{ class: 'sign-in', on: { submit } },
		h('h1', null, 'Sign in'),
		h(
			'p',
			null,
			'Use the dashboard token (DASHBOARD_TOKEN, read-only; recommended) or the service API key.',
		),
		h('label', { for: 'token' }, 'Token'),
		input,
		button,
		error,
		h(
			'p',
			{ class: 'muted small' },
			'Kept in this browser tab only and sent as an Authorization header; it never appears in a URL.',
		),
	);
	async function submit(event) {
		event.preventDefault();
		const token = input.value.trim();
		if (!token) return;
		button.disabled = true;
		error.textContent = '';
		try {
			const ok = await check(token);
			if (ok) {
				saveToken(token);
				onSignedIn();
			} else error.textContent = 'The service did not accept this token.';
		} catch (err) {
			error.textContent = `Could not check the token: ${err.message}`;
		} finally {
			button.disabled = false;
		}
	}
	queueMicrotask(() => input.focus());
	return { el: form, stop() {} };
}
