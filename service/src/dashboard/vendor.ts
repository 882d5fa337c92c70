import { Router } from 'express';
import { notFound } from '../http/errors';

// The dashboard's charting library, served from the installed package itself: the page never asks another
// origin for anything (its CSP allows 'self' only), and the version is the one package-lock.json pins.
const FILES: Record<string, string> = {
	'uPlot.iife.min.js': require.resolve('uplot/dist/uPlot.iife.min.js'),
	'uPlot.min.css': require.resolve('uplot/dist/uPlot.min.css'),
};

/** GET /vendor/<file>: the named files only, nothing else from node_modules. */
export function vendorRouter(): Router {
	const r = Router();
	r.get('/:file', (req, res) => {
		if (!Object.hasOwn(FILES, req.params.file))
			throw notFound(`no vendored file ${req.params.file}`);
		res.sendFile(FILES[req.params.file], { maxAge: '1h' });
	});
	return r;
}
