import { z } from 'zod';
import { MAX_APPROVAL_TTL_SECONDS, type ApprovalPolicy } from '../../../nodes/shared/protocol';
import {
	parseRule,
	ruleMatches,
	RuleSyntaxError,
	type PermissionRule,
	type ToolCall,
} from './permission-rule';

const ruleList = (what: string) =>
	z
		.array(z.string().trim().min(1).max(1000))
		.max(200)
		.default([])
		.superRefine((rules, ctx) => {
			for (const [i, rule] of rules.entries()) {
				try {
					parseRule(rule);
				} catch (err) {
					if (!(err instanceof RuleSyntaxError)) throw err;
					ctx.addIssue({
						code: z.ZodIssueCode.custom,
						path: [i],
						message: `${what}: ${err.message}`,
					});
				}
			}
		});

/** A decider as the policy names them: a Slack user id (`U0123ABCD`, or `<@U0123ABCD>`) or an email address. */
export function normaliseDecider(value: string): string {
	const v = value.trim();
	const mention = /^<@([A-Z0-9]+)(?:\|[^>]*)?>$/i.exec(v);
	if (mention) return mention[1].toUpperCase();
	// "Alice <alice@example.com>", as an email From header gives it.
	const angled = /<([^<>@\s]+@[^<>\s]+)>\s*$/.exec(v);
	const address = angled ? angled[1] : v;
	return address.includes('@') ? address.toLowerCase() : address;
}

/**
 * What the node sends for a session: which tool calls need a person, who may decide, how long a request waits.
 * `allowedTools` is the run's own allow-list, needed only for `outsideAllowedTools`. The shape is the contract's;
 * the rules are checked here, where they are enforced.
 */
export const ApprovalPolicyBody: z.ZodType<ApprovalPolicy, z.ZodTypeDef, unknown> = z
	.object({
		rules: ruleList('rules'),
		outsideAllowedTools: z.boolean().default(false),
		allowedTools: ruleList('allowedTools'),
		deciders: z
			.array(z.string().trim().min(1).max(320))
			.max(100)
			.default([])
			.transform((list) => [...new Set(list.map(normaliseDecider))]),
		expiresInSeconds: z.number().int().min(1).max(MAX_APPROVAL_TTL_SECONDS).optional(),
	})
	.strict()
	.refine((p) => p.rules.length > 0 || p.outsideAllowedTools, {
		message:
			'a policy needs rules (such as "Bash(git push *)") or outsideAllowedTools: true; to remove a policy, DELETE it',
	});

export type { ApprovalPolicy };

export const OUTSIDE_ALLOWED_TOOLS = 'outside allowed tools';

/** The rule that makes `call` need a person under `policy`, or undefined when it may go ahead. */
export function gatingRule(policy: ApprovalPolicy, call: ToolCall): string | undefined {
	const parsed = (rules: string[]) => rules.map(parseRule);
	const hit = parsed(policy.rules).find((r) => ruleMatches(r, call, 'gate'));
	if (hit) return hit.raw;
	if (
		policy.outsideAllowedTools &&
		!parsed(policy.allowedTools).some((r: PermissionRule) => ruleMatches(r, call, 'allow'))
	) {
		return OUTSIDE_ALLOWED_TOOLS;
	}
	return undefined;
}

/** May `who` decide? A policy that names nobody leaves it to whoever holds the API key (the workflow). */
export function mayDecide(deciders: readonly string[], who: string): boolean {
	return deciders.length === 0 || deciders.includes(normaliseDecider(who));
}

/** The stored jsonb, read back; a row edited by hand into something else gates nothing rather than failing hooks. */
export function storedPolicy(value: unknown): ApprovalPolicy | undefined {
	if (value === null || value === undefined) return undefined;
	const parsed = ApprovalPolicyBody.safeParse(value);
	return parsed.success ? parsed.data : undefined;
}
