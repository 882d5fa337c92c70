import { WorkspaceError } from './errors';

// Claude's HTTP hooks are called from where claude runs. Inside an E2B sandbox "localhost" is the
// sandbox, so the hook URL must use the service's PUBLIC_URL instead of the address n8n uses.

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\]|0\.0\.0\.0|\[::\])$/i;

export interface HookUrlOptions {
	/** PUBLIC_URL: how the service is reached from outside this machine (may carry a path prefix). */
	publicUrl?: string;
	/** The base URL the hook URL was built from (the credential's service URL); its prefix is swapped. */
	serviceBaseUrl?: string;
}

/** Rewrites a hook URL so a sandbox can reach it; throws when that is impossible without PUBLIC_URL. */
export function hookUrlForSandbox(hookUrl: string, options: HookUrlOptions = {}): string {
	const hook = parseHttpUrl(hookUrl, 'Hook URL');
	if (!options.publicUrl) {
		if (LOOPBACK.test(hook.hostname)) {
			throw new WorkspaceError(
				`Claude runs inside an E2B sandbox, which cannot reach the service at ${hook.origin} (that address is this machine). ` +
					'Set PUBLIC_URL to an address of the service that the sandbox can reach (for example an https tunnel).',
			);
		}
		return hook.href;
	}
	const publicUrl = parseHttpUrl(options.publicUrl, 'Public URL');
	const publicBase = publicUrl.href.replace(/\/+$/, '');
	if (options.serviceBaseUrl) {
		const serviceBase = parseHttpUrl(options.serviceBaseUrl, 'Service URL').href.replace(
			/\/+$/,
			'',
		);
		if (
			hook.href === serviceBase ||
			hook.href.startsWith(`${serviceBase}/`) ||
			hook.href.startsWith(`${serviceBase}?`)
		) {
			return publicBase + hook.href.slice(serviceBase.length);
		}
	}
	return publicBase + hook.pathname + hook.search;
}

function parseHttpUrl(value: string, label: string): URL {
	let url: URL;
	try {
		url = new URL(value);
	} catch {
		throw new WorkspaceError(`${label} ${JSON.stringify(value)} is not a URL.`);
	}
	if (url.protocol !== 'http:' && url.protocol !== 'https:') {
		throw new WorkspaceError(
			`${label} ${JSON.stringify(value)} must start with http:// or https://.`,
		);
	}
	return url;
}
