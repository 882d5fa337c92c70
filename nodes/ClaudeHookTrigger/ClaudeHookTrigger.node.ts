import {
	NodeConnectionTypes,
	type IDataObject,
	type IHookFunctions,
	type INodeType,
	type INodeTypeDescription,
	type IWebhookFunctions,
	type IWebhookResponseData,
} from 'n8n-workflow';
import { DEFAULT_TOLERANCE_SECONDS } from '../shared/protocol/delivery';
import { properties } from './description';
import { receiveDelivery } from './receive-delivery';
import {
	registerSubscription,
	removeSubscription,
	subscriptionExists,
	type TriggerStaticData,
} from './subscription-lifecycle';

export class ClaudeHookTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Claude Hook Trigger',
		name: 'claudeHookTrigger',
		icon: { light: 'file:../../icons/claude.svg', dark: 'file:../../icons/claude.dark.svg' },
		group: ['trigger'],
		version: 1,
		subtitle:
			'={{$parameter["preset"] === "custom" ? ($parameter["events"] || []).join(", ") : $parameter["preset"]}}',
		description:
			'Starts the workflow on Claude Code hook events (signed, delivered at least once, each delivery once)',
		defaults: { name: 'Claude Hook Trigger' },
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: 'claudeOrchestratorApi', required: true }],
		webhooks: [
			{
				name: 'default',
				httpMethod: 'POST',
				// The service only needs a 2xx: answer as soon as the execution is queued, with no body; or, with the
				// option on, once the workflow has run, so a session's deliveries (sent one at a time) never overlap.
				responseMode:
					'={{ $parameter["options"]["answerAfterWorkflow"] ? "lastNode" : "onReceived" }}',
				responseData: 'noData',
				path: 'claude-hook',
			},
		],
		properties,
	};

	webhookMethods = {
		default: {
			async checkExists(this: IHookFunctions): Promise<boolean> {
				return await subscriptionExists.call(this);
			},
			async create(this: IHookFunctions): Promise<boolean> {
				return await registerSubscription.call(this);
			},
			async delete(this: IHookFunctions): Promise<boolean> {
				return await removeSubscription.call(this);
			},
		},
	};

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		const options = this.getNodeParameter('options', {}) as { toleranceSeconds?: number };
		const request = this.getRequestObject() as { rawBody?: Buffer };
		const result = receiveDelivery({
			headers: this.getHeaderData(),
			rawBody: Buffer.isBuffer(request.rawBody) ? request.rawBody : undefined,
			body: this.getBodyData(),
			staticData: this.getWorkflowStaticData('node') as TriggerStaticData,
			toleranceSeconds: options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS,
			nowMs: Date.now(),
		});
		if (result.kind === 'rejected') {
			// A refused delivery starts no execution; the service sees the 4xx, retries and finally dead-letters it.
			this.getResponseObject()
				.status(result.status)
				.json({ error: result.error, message: result.message });
			return { noWebhookResponse: true };
		}
		if (result.kind === 'duplicate') {
			// Already handed to the workflow once (the service did not get our answer): acknowledge, run nothing.
			return {
				webhookResponse: {
					received: true,
					duplicate: true,
					deliveryId: result.deliveryId,
				} as IDataObject,
			};
		}
		return { workflowData: [this.helpers.returnJsonArray([result.item])] };
	}
}
