// Words a failed run the way a workflow author can act on it (DESIGN.md house rule 4).
import type { StreamResult } from './stream-parser';

export interface FailureFacts {
	result?: StreamResult;
	exitCode: number | null;
	exitSignal: string | null;
	stderrTail: string;
}

const AUTH = /not logged in|invalid api key|api key|authentication|\/login/i;
const UNREACHABLE =
	/ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|Connection refused|Unable to connect/i;

function exitText(facts: FailureFacts): string {
	if (facts.exitSignal) return `was killed by ${facts.exitSignal}`;
	return `exited with code ${facts.exitCode ?? 'unknown'}`;
}

function stderrSuffix(stderrTail: string): string {
	const tail = stderrTail.trim();
	return tail.length > 0 ? ` stderr: ${tail}` : '';
}

export function describeFailure(facts: FailureFacts): string {
	const { result } = facts;
	if (!result) {
		return (
			`claude ${exitText(facts)} without printing a result line, so the run's outcome is unknown.` +
			(facts.stderrTail.trim() ? stderrSuffix(facts.stderrTail) : ' It printed nothing on stderr.')
		);
	}
	const text = [result.result, ...(result.errors ?? []), facts.stderrTail]
		.filter(Boolean)
		.join(' ');
	if (result.subtype === 'error_max_budget_usd') {
		const spent =
			result.totalCostUsd !== undefined ? ` after spending $${result.totalCostUsd.toFixed(4)}` : '';
		return `The run stopped because it reached its budget (max budget USD)${spent}: ${(result.errors ?? []).join('; ') || 'budget exhausted'}. Raise the budget or split the task.`;
	}
	if (result.subtype === 'error_max_turns') {
		return `The run stopped after ${result.numTurns ?? '?'} turns because it reached the max turns limit. Raise max turns or narrow the task.`;
	}
	if (AUTH.test(text) && (result.apiErrorStatus === 401 || result.apiErrorStatus == null)) {
		return `Claude Code is not authenticated ("${result.result ?? 'no API key'}"). Set ANTHROPIC_API_KEY in the environment of the n8n process (or in the node's environment settings).`;
	}
	if (result.apiErrorStatus) {
		return `The Anthropic API answered HTTP ${result.apiErrorStatus}: ${result.result ?? 'no details'}. Check the model name, the API key and the account's limits.`;
	}
	if (UNREACHABLE.test(text)) {
		return `Claude Code could not reach the Anthropic API: ${result.result ?? text}. Check network access and ANTHROPIC_BASE_URL.`;
	}
	if (!result.isError) {
		return `claude printed a successful result but ${exitText(facts)}.${stderrSuffix(facts.stderrTail)}`;
	}
	const details = [result.result, ...(result.errors ?? [])].filter(Boolean).join('; ');
	const kind = result.subtype && result.subtype !== 'success' ? ` (${result.subtype})` : '';
	return `claude reported an error${kind} and ${exitText(facts)}: ${details || 'no details'}.${stderrSuffix(facts.stderrTail)}`;
}
