#!/usr/bin/env node
'use strict';
// `npm start`: build, then run the stack (dist/scripts/stack.js). The build lives here rather than in a `prestart`
// script because the repository's .npmrc sets ignore-scripts (see there), and npm then skips pre- and post-scripts
// too: on a fresh clone `prestart` never ran and there was nothing to start.
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const started = Date.now();
process.stdout.write('Building the package (TypeScript → dist/)…\n');
const build = spawnSync('npm', ['run', '--silent', 'build'], {
	cwd: root,
	stdio: ['ignore', 'ignore', 'inherit'],
});
if (build.error || build.status !== 0) {
	process.stderr.write(
		`npm start: the build failed (${build.error ? build.error.message : `exit ${build.status}`}); run \`npm run build\` to see why\n`,
	);
	process.exit(1);
}
process.stdout.write(`Built in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
require(path.join(root, 'dist', 'scripts', 'stack.js'));
