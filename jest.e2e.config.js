/** @type {import('jest').Config} */
// The end-to-end suite: real n8n (from the cache of scripts/n8n-cache.js) with this package installed, the service,
// the real claude CLI against the fake Anthropic API, a fake Slack Web API and real IMAP/SMTP servers on loopback.
// Run with `npm run build && npm run test:e2e`; the default `npm test` leaves this folder out.
module.exports = {
	testEnvironment: 'node',
	roots: ['<rootDir>/test/e2e-n8n'],
	testMatch: ['**/*.test.ts'],
	transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }] },
	// One n8n at a time: it takes ~600 MB and most of a core while it boots.
	maxWorkers: 1,
	testTimeout: 180_000,
};
