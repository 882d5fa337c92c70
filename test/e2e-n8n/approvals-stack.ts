// What the approval scenarios run against: the real n8n with this package, the approval templates
// (workflows/approval-slack.json, workflows/approval-email.json) configured as workflows/README.md says, and a
// small workflow that starts a gated session from a webhook (what a team's own start workflow would do); the
// service, the real claude CLI against the fake Anthropic API, the fake Slack, a private dovecot and an SMTP sink.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TEST_API_KEY } from '../support/test-service';
import { startN8n, type N8nWorkflow } from '../../scripts/n8n/n8n-instance';
import { ARTIFACTS, imapCredentialData, inboxWatched, REPO_ROOT, startBackends } from './backends';
import { startedForBlock } from '../support/started-for-block';
import { WORKFLOWS_DIR, type Template } from './templates';
import { orchestratorCredential, webhookToNodeWorkflow } from './workflow-nodes';
import type { E2eStack } from './stack';

export const APPROVALS_MAIL = {
	address: 'approvals@example.test',
	password: 'imap-approvals-pass',
	bot: 'claude@example.test',
};
const CREDENTIAL_ID = 'e2eApprovalsOrch';
export const SLACK_SIGNING_SECRET = 'e2e-approvals-signing-secret';
export const FALLBACK_CHANNEL = 'C0APPROVALS';
export const START_PATH = 'claude/approvals-e2e-start';

export const APPROVAL_WORKFLOW_IDS = {
	slack: 'e2eApprovalSlack',
	email: 'e2eApprovalMail1',
	start: 'e2eApprovalStart',
} as const;

/** The template stack's parts, with the approval templates in its n8n. */
export type ApprovalsStack = Pick<
	E2eStack,
	'n8n' | 'service' | 'anthropic' | 'slack' | 'dovecot' | 'smtp' | 'baseRepository' | 'stop'
>;

/** A template from workflows/ with an id for the harness and its Settings values filled in. */
export function approvalTemplate(
	file: string,
	id: string,
	settings: Record<string, string | number | boolean>,
): Template {
	const wf = JSON.parse(fs.readFileSync(path.join(WORKFLOWS_DIR, file), 'utf8')) as Template;
	const node = wf.nodes.find((n) => n.name === 'Settings');
	if (!node) throw new Error(`${file} has no Settings node`);
	const assignments = (
		node.parameters.assignments as { assignments: Array<{ name: string; value: unknown }> }
	).assignments;
	for (const [key, value] of Object.entries(settings)) {
		const field = assignments.find((a) => a.name === key);
		if (!field) throw new Error(`the Settings node of ${file} has no field "${key}"`);
		field.value = value;
	}
	return { ...wf, id };
}

/**
 * Webhook → Claude Session Start with an approval policy from the request → the node's output as the answer.
 * Bash is in Allowed Tools so ungated commands run; the policy decides which ones wait for a person.
 */
function startWorkflow(baseRepository: string): N8nWorkflow {
	return webhookToNodeWorkflow({
		id: APPROVAL_WORKFLOW_IDS.start,
		name: 'E2E: start a gated session',
		webhook: { id: 'start-1', webhookId: 'e2e-approvals-start', path: START_PATH },
		node: {
			id: 'start-2',
			name: 'Claude Session Start',
			type: 'claudeSessionStart',
			parameters: {
				prompt: '={{ $json.body.prompt }}',
				workspaceType: 'worktree',
				baseRepository,
				threadKey: '={{ $json.body.threadKey }}',
				options: {
					allowedTools: 'Bash',
					approvalPolicy: {
						policy: {
							tools: '={{ $json.body.tools }}',
							deciders: '={{ $json.body.deciders }}',
							expiresAfterMinutes: '={{ $json.body.expiresAfterMinutes ?? 0 }}',
						},
					},
				},
			},
		},
		credentialId: CREDENTIAL_ID,
	});
}

export async function startApprovalsStack(): Promise<ApprovalsStack> {
	const approvalsMailbox = { user: APPROVALS_MAIL.address, password: APPROVALS_MAIL.password };
	const backends = await startBackends({
		prefix: 'claude-e2e-approvals-',
		mailbox: approvalsMailbox,
		slackSigningSecret: SLACK_SIGNING_SECRET,
	});
	const { baseRepository, anthropic, slack, dovecot, smtp, service, stop } = backends;
	try {
		const smtpSettings = {
			serviceUrl: service.url,
			fromAddress: APPROVALS_MAIL.bot,
			fromName: 'Claude E2E',
			approvalsAddress: APPROVALS_MAIL.address,
			approvers: '',
			smtpHost: smtp.host,
			smtpPort: smtp.port,
			smtpSecure: false,
			smtpUser: APPROVALS_MAIL.bot,
			smtpPassword: 'smtp-e2e-pass',
		};
		const n8n = await startN8n({
			packageDir: REPO_ROOT,
			env: backends.n8nEnv,
			credentials: [
				orchestratorCredential(CREDENTIAL_ID, service.url, TEST_API_KEY),
				{ id: 'e2eApprovalsSlck', name: 'Slack Bot', type: 'slackApi', data: slack.credentialData },
				{
					id: 'e2eApprovalsImap',
					name: 'IMAP Approvals Mailbox',
					type: 'imap',
					data: imapCredentialData(approvalsMailbox, dovecot),
				},
			],
			workflows: [
				approvalTemplate('approval-slack.json', APPROVAL_WORKFLOW_IDS.slack, {
					slackChannel: FALLBACK_CHANNEL,
					signingSecret: SLACK_SIGNING_SECRET,
					serviceUrl: service.url,
				}),
				approvalTemplate('approval-email.json', APPROVAL_WORKFLOW_IDS.email, smtpSettings),
				startWorkflow(baseRepository),
			],
			keepUserFolder: true,
		});
		backends.onStop(async () => {
			fs.mkdirSync(ARTIFACTS, { recursive: true });
			fs.writeFileSync(path.join(ARTIFACTS, 'approvals-n8n.log'), n8n.logs());
			await n8n.stop();
			fs.rmSync(n8n.userFolder, { recursive: true, force: true });
		});
		await n8n.waitForWebhook(START_PATH, { method: 'POST' });
		await n8n.waitForWebhook('claude/slack-interactions', { method: 'POST' });
		await inboxWatched(
			dovecot,
			APPROVALS_MAIL.address,
			'the approvals Email Trigger to open INBOX',
		);
		return { n8n, service, anthropic, slack, dovecot, smtp, baseRepository, stop };
	} catch (error) {
		await stop();
		throw error;
	}
}

/** The approvals stack for a file or describe block: started before its tests, stopped after them. */
export function useApprovalsStack(): ApprovalsStack {
	return startedForBlock(() => startApprovalsStack(), 300_000, 'the approvals stack');
}
