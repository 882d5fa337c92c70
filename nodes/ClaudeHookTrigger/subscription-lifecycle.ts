import { randomBytes } from 'node:crypto';
import {
	NodeApiError,
	NodeOperationError,
	type IDataObject,
	type IHookFunctions,
	type JsonObject,
} from 'n8n-workflow';
import { orchestratorRequest } from '../shared/transport';
import { ANY_EVENT, PRESET_EVENTS, type Preset } from './hook-events';

/**
 * What the node keeps in the workflow's static data, which n8n stores with the workflow: the registration
 * and its secret survive n8n restarts, when n8n calls neither checkExists nor create again.
 */
export interface TriggerStaticData extends IDataObject {
	subscriptionId?: string;
	secret?: string;
	recentDeliveries?: string[];
}

interface Registration extends IDataObject {
	url: string;
	events: string[];
	toolFilter: string | null;
	sessionId: string | null;
	threadKey: string | null;
	workspaceType: string | null;
	minIntervalSeconds: number | null;
}

const text = (ctx: IHookFunctions, name: string) =>
	String(ctx.getNodeParameter(name, '') ?? '').trim() || null;

/** The subscription the node's parameters describe. */
export function desiredRegistration(ctx: IHookFunctions): Registration {
	const url = ctx.getNodeWebhookUrl('default');
	if (!url)
		throw new NodeOperationError(ctx.getNode(), 'n8n did not give this trigger a webhook URL');
	const preset = ctx.getNodeParameter('preset', 'custom') as Preset;
	let events: string[];
	if (preset === 'custom') {
		const chosen = ctx.getNodeParameter('events', [ANY_EVENT]) as string[];
		if (!chosen.length) {
			throw new NodeOperationError(ctx.getNode(), 'Choose at least one event', {
				description: 'Pick the hook events that should start the workflow, or "Any Event".',
			});
		}
		// The service reads an empty list as "every event".
		events = chosen.includes(ANY_EVENT) ? [] : [...new Set(chosen)].sort();
	} else {
		events = PRESET_EVENTS[preset];
		if (!events) throw new NodeOperationError(ctx.getNode(), `Unknown trigger preset "${preset}"`);
	}
	return {
		url,
		events,
		// "Session finished" is about the session, not a tool; a filter left over from another preset must not hide it.
		toolFilter: preset === 'sessionFinished' ? null : text(ctx, 'toolFilter'),
		sessionId: text(ctx, 'sessionId')?.toLowerCase() ?? null,
		threadKey: text(ctx, 'threadKey'),
		workspaceType: text(ctx, 'workspaceType'),
		minIntervalSeconds: minInterval(ctx),
	};
}

function minInterval(ctx: IHookFunctions): number | null {
	const raw = ctx.getNodeParameter('minIntervalSeconds', 0);
	const n = Number(raw ?? 0);
	if (!Number.isInteger(n) || n < 0 || n > 3600) {
		throw new NodeOperationError(
			ctx.getNode(),
			`At Most One Delivery Every N Seconds must be a whole number from 0 to 3600, got ${JSON.stringify(raw)}`,
		);
	}
	return n === 0 ? null : n;
}

const sameRegistration = (want: Registration, have: IDataObject) =>
	have.url === want.url &&
	JSON.stringify([...((have.events as string[]) ?? [])].sort()) ===
		JSON.stringify([...want.events].sort()) &&
	(have.toolFilter ?? null) === want.toolFilter &&
	(have.sessionId ?? null) === want.sessionId &&
	(have.threadKey ?? null) === want.threadKey &&
	(have.workspaceType ?? null) === want.workspaceType &&
	(have.minIntervalSeconds ?? null) === want.minIntervalSeconds;

const isNotFound = (err: unknown) =>
	String((err as { httpCode?: unknown }).httpCode ?? '') === '404';

/** True only when the service still holds this node's registration, unchanged, and the node still has its secret. */
export async function subscriptionExists(this: IHookFunctions): Promise<boolean> {
	const data = this.getWorkflowStaticData('node') as TriggerStaticData;
	if (!data.subscriptionId || !data.secret) return false;
	let current: IDataObject;
	try {
		current = (await orchestratorRequest.call(
			this,
			'GET',
			`/api/v1/subscriptions/${encodeURIComponent(data.subscriptionId)}`,
		)) as IDataObject;
	} catch (err) {
		if (isNotFound(err)) {
			delete data.subscriptionId;
			delete data.secret;
			return false;
		}
		// Already a NodeApiError from the transport (wrapping it again hands back the same error).
		throw new NodeApiError(this.getNode(), err as JsonObject);
	}
	return sameRegistration(desiredRegistration(this), current);
}

/** Registers (or, for the same webhook URL, replaces) the subscription with a fresh signing secret. */
export async function registerSubscription(this: IHookFunctions): Promise<boolean> {
	const data = this.getWorkflowStaticData('node') as TriggerStaticData;
	const secret = `whsec_${randomBytes(32).toString('base64url')}`;
	const created = (await orchestratorRequest.call(this, 'POST', '/api/v1/subscriptions', {
		...desiredRegistration(this),
		secret,
		workflowId: this.getWorkflow().id ?? null,
		nodeName: this.getNode().name,
	})) as IDataObject;
	if (typeof created.id !== 'string') {
		throw new NodeOperationError(this.getNode(), 'The service did not return a subscription id');
	}
	data.subscriptionId = created.id;
	data.secret = secret;
	return true;
}

/** Removes the registration; one the service no longer has counts as removed. */
export async function removeSubscription(this: IHookFunctions): Promise<boolean> {
	const data = this.getWorkflowStaticData('node') as TriggerStaticData;
	if (data.subscriptionId) {
		try {
			await orchestratorRequest.call(
				this,
				'DELETE',
				`/api/v1/subscriptions/${encodeURIComponent(data.subscriptionId)}`,
			);
		} catch (err) {
			if (!isNotFound(err)) {
				this.logger.error(
					'Claude Hook Trigger: could not remove the subscription from the service',
					{
						subscriptionId: data.subscriptionId,
						error: err instanceof Error ? err.message : String(err),
					},
				);
				return false;
			}
		}
	}
	delete data.subscriptionId;
	delete data.secret;
	delete data.recentDeliveries;
	return true;
}
