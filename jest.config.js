/** @type {import('jest').Config} */
module.exports = {
	testEnvironment: 'node',
	roots: ['<rootDir>/service', '<rootDir>/nodes', '<rootDir>/test'],
	testMatch: ['**/*.test.ts'],
	testPathIgnorePatterns: ['/node_modules/', '/dist/', '/test/e2e/', '/test/e2e-n8n/'],
	transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }] },
	setupFiles: ['<rootDir>/test/setup-env.js'],
	testTimeout: 60_000,
	// Suites start real processes (PostgreSQL databases, the claude CLI, git); two at once fits two cores.
	maxWorkers: 2,
};
