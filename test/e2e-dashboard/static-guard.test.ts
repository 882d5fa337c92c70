import fs from 'node:fs';
import path from 'node:path';

// The dashboard renders data with DOM text APIs only and only reads from the service. This keeps it that way:
// a change that reaches for an HTML sink, eval, or a writing request fails here before it reaches a browser.

const ROOT = path.resolve(__dirname, '../../dashboard');
const files = (dir: string): string[] =>
	fs
		.readdirSync(dir, { withFileTypes: true })
		.flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : [path.join(dir, e.name)]));
const scripts = files(ROOT).filter((f) => f.endsWith('.js'));
// Comments may name the sinks they avoid; code may not use them.
const code = (file: string) =>
	fs
		.readFileSync(file, 'utf8')
		.replace(/\/\*[\s\S]*?\*\//g, '')
		.replace(/^\s*\/\/.*$/gm, '');

describe('dashboard sources', () => {
	it('are plain ES modules with no HTML sinks, no eval and no writing requests', () => {
		expect(scripts.length).toBeGreaterThan(5);
		for (const file of scripts) {
			const src = code(file);
			const where = path.relative(ROOT, file);
			for (const sink of [
				/\.innerHTML\b/,
				/\.outerHTML\b/,
				/insertAdjacentHTML/,
				/document\.write/,
				/\beval\s*\(/,
				/new Function\b/,
				/DOMParser/,
				/createContextualFragment/,
			]) {
				expect({ where, found: sink.test(src) ? String(sink) : null }).toEqual({
					where,
					found: null,
				});
			}
			expect({ where, method: /method\s*:/.test(src) }).toEqual({ where, method: false });
			expect({ where, storage: /localStorage|document\.cookie/.test(src) }).toEqual({
				where,
				storage: false,
			});
		}
	});

	it('has a page with a strict Content-Security-Policy, no inline script, and every module preloaded', () => {
		const html = fs.readFileSync(path.join(ROOT, 'index.html'), 'utf8');
		expect(html).toMatch(
			/http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'self';/,
		);
		expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
		expect(html).not.toMatch(/\son[a-z]+=/i);
		const modules = scripts.map((f) => path.relative(ROOT, f)).filter((f) => f !== 'app.js');
		for (const m of modules) expect(html).toContain(`<link rel="modulepreload" href="${m}">`);
	});
});
