// Copies what tsc does not: node/credential icons and codex files, SQL migrations, and the static dashboard.
// Globs are explicit so nothing outside these folders ends up in the published package.
const { src, dest, parallel } = require('gulp');

const icons = () =>
	src(['nodes/**/*.{png,svg,json}', 'credentials/**/*.{png,svg}', '!**/__tests__/**'], {
		base: '.',
		encoding: false,
	}).pipe(dest('dist'));
const sharedIcons = () => src('icons/*.svg', { base: '.', encoding: false }).pipe(dest('dist'));
const migrations = () => src('service/migrations/*.sql', { base: '.' }).pipe(dest('dist'));
const scripts = () => src('scripts/*.js', { base: '.' }).pipe(dest('dist'));
const dashboard = () =>
	src(['dashboard/**/*', '!dashboard/tsconfig.json'], { base: '.', encoding: false }).pipe(
		dest('dist'),
	);

// Benchmarks are built apart (tsconfig.bench.json → dist-bench) so the package never ships them; the service they
// start there reads its migrations and dashboard relative to its own code.
const benchMigrations = () =>
	src('service/migrations/*.sql', { base: '.' }).pipe(dest('dist-bench'));
const benchDashboard = () =>
	src('dashboard/**/*', { base: '.', encoding: false }).pipe(dest('dist-bench'));

exports['build:icons'] = parallel(icons, sharedIcons);
exports['build:assets'] = parallel(icons, sharedIcons, migrations, dashboard, scripts);
exports['build:bench'] = parallel(benchMigrations, benchDashboard);
