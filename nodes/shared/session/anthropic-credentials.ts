import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const CREDENTIAL_VARS = [
	'ANTHROPIC_API_KEY',
	'ANTHROPIC_AUTH_TOKEN',
	'CLAUDE_CODE_OAUTH_TOKEN',
	'CLAUDE_CODE_USE_BEDROCK',
	'CLAUDE_CODE_USE_VERTEX',
	'CLAUDE_CODE_USE_FOUNDRY',
];

export class MissingAnthropicCredentialsError extends Error {}

/**
 * claude -p with no credentials fails after start-up with "Not logged in"; saying so before spawning is clearer.
 * Credentials are an API key or token in the environment, a cloud provider switch, or a login stored by `claude /login`.
 */
export function assertAnthropicCredentials(env: Record<string, string | undefined>): void {
	if (CREDENTIAL_VARS.some((name) => env[name])) return;
	const configDir = env.CLAUDE_CONFIG_DIR || path.join(env.HOME || os.homedir(), '.claude');
	if (fs.existsSync(path.join(configDir, '.credentials.json'))) return;
	throw new MissingAnthropicCredentialsError(
		'No Anthropic credentials for claude: set ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN / CLAUDE_CODE_OAUTH_TOKEN) in the ' +
			"environment of n8n, or in the node's Environment Variables option, or log in once with `claude` as the user n8n runs as.",
	);
}
