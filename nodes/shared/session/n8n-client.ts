import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';
import { orchestratorCredentials, orchestratorRequest } from '../transport';
import type { OrchestratorClient } from './client';

/** The orchestration's service client inside n8n: the credential-backed transport. */
export async function n8nClient(ctx: IExecuteFunctions): Promise<OrchestratorClient> {
	const creds = await orchestratorCredentials(ctx);
	return {
		baseUrl: creds.baseUrl,
		publicUrl: creds.publicUrl,
		request: (method, path, body, qs) =>
			orchestratorRequest.call(
				ctx,
				method,
				path,
				body as IDataObject | undefined,
				qs as IDataObject | undefined,
			) as never,
	};
}

/** An optional GitHub credential's token, for private repositories. */
export async function githubToken(
	ctx: IExecuteFunctions,
	itemIndex: number,
): Promise<string | undefined> {
	try {
		const creds = await ctx.getCredentials('githubApi', itemIndex);
		return typeof creds.accessToken === 'string' && creds.accessToken
			? creds.accessToken
			: undefined;
	} catch {
		// No GitHub credential selected: public repositories need none.
		return undefined;
	}
}
