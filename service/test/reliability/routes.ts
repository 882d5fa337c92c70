import type { Express } from 'express';

// Every route the running app answers, read from Express's own router stack, so the access and fuzz suites
// cover routes added after they were written instead of a list someone must remember to extend.

export interface RouteInfo {
	method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
	/** Full path with Express parameters, e.g. /api/v1/sessions/:id/lease */
	path: string;
}

interface Layer {
	rawPath?: unknown;
	route?: { path: string; methods: Record<string, boolean> };
	handle?: { stack?: Layer[] };
}

const join = (a: string, b: string) => a.replace(/\/+$/, '') + (b === '/' ? '' : b) || '/';

export function listRoutes(app: Express): RouteInfo[] {
	const out: RouteInfo[] = [];
	const walk = (stack: Layer[], base: string) => {
		for (const layer of stack) {
			if (layer.route) {
				for (const [m, on] of Object.entries(layer.route.methods)) {
					if (on && m !== '_all')
						out.push({
							method: m.toUpperCase() as RouteInfo['method'],
							path: join(base, layer.route.path),
						});
				}
			} else if (layer.handle?.stack && typeof layer.rawPath === 'string') {
				walk(layer.handle.stack, join(base, layer.rawPath));
			}
		}
	};
	walk((app as unknown as { router: { stack: Layer[] } }).router.stack, '');
	const seen = new Set<string>();
	return out.filter((r) => !seen.has(`${r.method} ${r.path}`) && seen.add(`${r.method} ${r.path}`));
}

export const isWrite = (r: RouteInfo) => r.method !== 'GET';
