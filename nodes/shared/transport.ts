import {
	NodeApiError,
	type IDataObject,
	type IExecuteFunctions,
	type IHookFunctions,
	type IHttpRequestMethods,
	type ILoadOptionsFunctions,
	type IWebhookFunctions,
	type JsonObject,
} from 'n8n-workflow';

export const CREDENTIAL_TYPE = 'claudeOrchestratorApi';

type Context = IExecuteFunctions | IHookFunctions | ILoadOptionsFunctions | IWebhookFunctions;

export interface OrchestratorCredentials {
	baseUrl: string;
	apiKey: string;
	publicUrl?: string;
}

export async function orchestratorCredentials(ctx: Context): Promise<OrchestratorCredentials> {
	const c = await ctx.getCredentials(CREDENTIAL_TYPE);
	return {
		baseUrl: String(c.baseUrl ?? '').replace(/\/+$/, ''),
		apiKey: String(c.apiKey ?? ''),
		publicUrl: c.publicUrl ? String(c.publicUrl).replace(/\/+$/, '') : undefined,
	};
}

/** The one way nodes talk to the service: authenticated by the credential, errors carrying the service's message. */
export async function orchestratorRequest<T = IDataObject>(
	this: Context,
	method: IHttpRequestMethods,
	path: string,
	body?: IDataObject | IDataObject[],
	qs?: IDataObject,
): Promise<T> {
	const { baseUrl } = await orchestratorCredentials(this);
	try {
		return (await this.helpers.httpRequestWithAuthentication.call(this, CREDENTIAL_TYPE, {
			method,
			url: `${baseUrl}${path}`,
			body,
			qs,
			json: true,
			timeout: 15_000,
		})) as T;
	} catch (error) {
		const e = error as {
			response?: { data?: { message?: string } };
			description?: string;
			message?: string;
		};
		const serviceMessage = e.response?.data?.message ?? e.description;
		const apiError = new NodeApiError(this.getNode(), error as JsonObject, {
			message: serviceMessage ? `Claude Orchestrator: ${serviceMessage}` : undefined,
		});
		// Set afterwards: NodeApiError replaces a given description with the body's `message`, already in the message.
		apiError.description = `${method} ${path} on ${baseUrl}`;
		throw apiError;
	}
}
