// Loads the Claude Orchestrator credential and the workflow templates into n8n once, on the stack's first start.
// deploy/compose.yaml runs it in the n8n image after n8n main is up (n8n's CLI writes to the same PostgreSQL);
// a marker in its state volume keeps a later start from overwriting what users changed since.
//
//   ORCH_SERVICE_URL   the service as n8n reaches it (the load balancer)      ORCH_API_KEY   the service's API key
//   ORCH_PUBLIC_URL    optional: the service as E2B sandboxes reach it
//   N8N_INIT_STATE_DIR where the marker is kept                               N8N_TEMPLATES_DIR   workflows/*.json
'use strict';
const { execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const env = (name, fallback) => {
	const value = process.env[name] || fallback;
	if (value === undefined) throw new Error(`${name} is not set`);
	return value;
};

const stateDir = env('N8N_INIT_STATE_DIR', '/workspace/.n8n-init');
const marker = path.join(stateDir, 'claude-orchestrator-imported');
if (fs.existsSync(marker)) {
	console.log(
		`credential and templates were loaded on ${fs.readFileSync(marker, 'utf8').trim()}; nothing to do`,
	);
	process.exit(0);
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'orch-init-'));
const credentials = path.join(work, 'credentials.json');
fs.writeFileSync(
	credentials,
	JSON.stringify([
		{
			id: 'claudeOrchCred001',
			name: 'Claude Orchestrator API',
			type: 'claudeOrchestratorApi',
			// Plain text here; n8n encrypts it with N8N_ENCRYPTION_KEY on import.
			data: {
				baseUrl: env('ORCH_SERVICE_URL'),
				apiKey: env('ORCH_API_KEY'),
				publicUrl: process.env.ORCH_PUBLIC_URL || '',
			},
		},
	]),
	{ mode: 0o600 },
);
execFileSync('n8n', ['import:credentials', `--input=${credentials}`], { stdio: 'inherit' });

const templatesDir = env('N8N_TEMPLATES_DIR', '/templates');
const workflows = fs
	.readdirSync(templatesDir)
	.filter((f) => f.endsWith('.json'))
	.sort()
	.map((f) => {
		const wf = JSON.parse(fs.readFileSync(path.join(templatesDir, f), 'utf8'));
		// Templates carry no ids; n8n's import needs one (stable per file) and a version, and they start inactive
		// until their Slack or email credentials are set.
		const id = wf.id || crypto.createHash('sha256').update(f).digest('hex').slice(0, 16);
		return { ...wf, id, active: false, versionId: wf.versionId || crypto.randomUUID() };
	});
if (workflows.length) {
	const file = path.join(work, 'workflows.json');
	fs.writeFileSync(file, JSON.stringify(workflows));
	execFileSync('n8n', ['import:workflow', `--input=${file}`], { stdio: 'inherit' });
}
fs.rmSync(work, { recursive: true, force: true });
fs.mkdirSync(stateDir, { recursive: true });
fs.writeFileSync(marker, `${new Date().toISOString()}\n`);
console.log(
	`loaded the credential "Claude Orchestrator API" and ${workflows.length} templates: ${workflows.map((w) => w.name).join(', ')}`,
);
