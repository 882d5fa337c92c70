import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import n8nNodes from '@n8n/eslint-plugin-community-nodes';
import globals from 'globals';

const communityNodes = n8nNodes.configs.recommendedWithoutN8nCloudSupport;

export default tseslint.config(
	{
		ignores: [
			'dist/**',
			'dist-bench/**',
			'node_modules/**',
			'coverage/**',
			'test-artifacts/**',
			'.data/**',
		],
	},
	{
		files: ['**/*.ts'],
		extends: [js.configs.recommended, ...tseslint.configs.recommended],
		rules: {
			'@typescript-eslint/no-unused-vars': [
				'error',
				{ argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
			],
			// Rows from SQL and third-party JSON are typed at the edges by zod; `any` stays inside repositories and tests.
			'@typescript-eslint/no-explicit-any': 'off',
		},
	},
	{
		// The dashboard: plain ES modules served as they are (type checked by dashboard/tsconfig.json).
		files: ['dashboard/**/*.js'],
		extends: [js.configs.recommended],
		languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: globals.browser },
		rules: { 'no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }] },
	},
	{
		// n8n's community-node profile for self-hosted n8n (the package is not meant for n8n Cloud).
		files: ['nodes/**/*.ts', 'credentials/**/*.ts', 'package.json'],
		ignores: ['**/__tests__/**'],
		plugins: communityNodes.plugins,
		rules: {
			...communityNodes.rules,
			// The nodes run the claude CLI, git and the E2B SDK where n8n runs (DESIGN.md, decision 8):
			// that needs runtime dependencies (simple-git, e2b) ...
			'@n8n/community-nodes/no-runtime-dependencies': 'off',
			// ... and spawning a process (always with an argument array, never a shell string).
			'@n8n/community-nodes/no-dangerous-functions': 'off',
		},
	},
	{
		// The orchestration library has no node context to build n8n errors from: it throws its own errors
		// (WorkspaceError, runner errors) and the nodes wrap them in NodeOperationError with the item index.
		files: ['nodes/shared/**/*.ts'],
		rules: { '@n8n/community-nodes/require-node-api-error': 'off' },
	},
	{
		// The contract (nodes/shared/protocol) is all that crosses between the service and the nodes (DESIGN.md).
		files: ['service/src/**/*.ts'],
		rules: {
			'no-restricted-imports': [
				'error',
				{
					patterns: [
						{
							regex: '(^|/)nodes/(?!shared/protocol(/|$))',
							message:
								'The service imports only the contract from the nodes: nodes/shared/protocol.',
						},
					],
				},
			],
		},
	},
	{
		files: ['nodes/**/*.ts', 'credentials/**/*.ts'],
		rules: {
			'no-restricted-imports': [
				'error',
				{
					patterns: [
						{
							group: ['**/service/src', '**/service/src/**'],
							message:
								'The nodes reach the service over HTTP only; what both sides agree on is in nodes/shared/protocol.',
						},
					],
				},
			],
		},
	},
	{
		// n8n loads the contract with the nodes: zod and node:* only, nothing of the service or the rest of nodes/.
		files: ['nodes/shared/protocol/**/*.ts'],
		rules: {
			'no-restricted-imports': [
				'error',
				{
					patterns: [
						{
							group: ['../*', '!../protocol'],
							message: 'The contract stands alone: import only within nodes/shared/protocol.',
						},
						{
							group: [
								'express',
								'pg',
								'pg-*',
								'@electric-sql/*',
								'n8n-workflow',
								'simple-git',
								'e2b',
							],
							message: 'The contract uses zod and node:* only.',
						},
					],
				},
			],
		},
	},
	{
		// The package.json rules read the manifest as a JavaScript object expression.
		files: ['package.json'],
		languageOptions: { parser: tseslint.parser },
		rules: { '@typescript-eslint/no-unused-expressions': 'off' },
	},
);
