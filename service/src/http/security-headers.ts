import fs from 'node:fs';
import path from 'node:path';
import type { RequestHandler } from 'express';

// What the dashboard page declares in its meta tag; used when there is no page to read it from.
const FALLBACK_POLICY =
	"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'";

/** The Content-Security-Policy the dashboard's index.html declares in its meta tag, so header and page never disagree. */
export function dashboardPolicy(dashboardDir: string | undefined): string {
	try {
		const html = fs.readFileSync(path.join(dashboardDir ?? '', 'index.html'), 'utf8');
		const m = /<meta\s+http-equiv="Content-Security-Policy"\s+content="([^"]+)"/i.exec(html);
		if (m) return m[1];
	} catch {
		// No dashboard build: the API answers alone.
	}
	return FALLBACK_POLICY;
}

/**
 * Headers on every answer Express gives (the dashboard's files and the API): the page's policy as a header too
 * (a meta tag cannot say frame-ancestors), no framing, no content-type sniffing, no referrer.
 */
export function securityHeaders(dashboardDir: string | undefined): RequestHandler {
	const headers = {
		'Content-Security-Policy': `${dashboardPolicy(dashboardDir)}; frame-ancestors 'none'`,
		'X-Frame-Options': 'DENY',
		'X-Content-Type-Options': 'nosniff',
		'Referrer-Policy': 'no-referrer',
	};
	return (_req, res, next) => {
		res.set(headers);
		next();
	};
}
