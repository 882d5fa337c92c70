/** @type {import('jest').Config} */
module.exports = {
	testEnvironment: 'node',
	roots: ['<rootDir>/service', '<rootDir>/nodes', '<rootDir>/test'],
	testMatch: ['**/*.test.ts'],
	testPathIgnorePatterns: ['/node_modules/', '/dist/', '/test/e2e/', '/test/e2e-n8n/'],
	transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }] },
	setupFiles: ['<rootDir>/test/setup-env.js'],
	// A guard against hangs, not a speed requirement: on a busy 2-core machine one PGlite start-up alone can take
	// half a minute.
	testTimeout: 180_000,
	// Suites start real processes (PostgreSQL databases, the claude CLI, git); two at once fits two cores.
	maxWorkers: 2,
};
