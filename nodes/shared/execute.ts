import {
	NodeApiError,
	NodeOperationError,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
} from 'n8n-workflow';
import type { OrchestratorClient } from './session/client';
import { n8nClient } from './session/n8n-client';
import { parseRunOptions, type RunOptions } from './session/run-options';

/**
 * The one execute loop: each input item is processed by `task`, at most `concurrency` at a time, and yields one
 * output item paired with it. A failed item becomes an error item when "Continue On Fail" is set.
 */
export async function executeItems(
	ctx: IExecuteFunctions,
	concurrency: number,
	task: (itemIndex: number) => Promise<IDataObject>,
): Promise<INodeExecutionData[][]> {
	const items = ctx.getInputData();
	const results: INodeExecutionData[] = new Array(items.length);
	let next = 0;
	const worker = async () => {
		while (next < items.length) {
			const i = next++;
			try {
				results[i] = { json: await task(i), pairedItem: { item: i } };
			} catch (error) {
				if (ctx.continueOnFail()) {
					results[i] = {
						json: { ...items[i].json, error: (error as Error).message },
						pairedItem: { item: i },
					};
					continue;
				}
				// n8n's own errors keep their type, HTTP status and description (the error view shows them); they only
				// learn which item failed. Anything else becomes a NodeOperationError for that item.
				if (error instanceof NodeApiError || error instanceof NodeOperationError) {
					error.context.itemIndex ??= i;
					throw error;
				}
				throw new NodeOperationError(ctx.getNode(), error as Error, { itemIndex: i });
			}
		}
	};
	await Promise.all(
		Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker),
	);
	return [results];
}

/** executeItems for the session nodes: one service client, each item's options parsed, the first item's concurrency. */
export async function executeSessionItems(
	ctx: IExecuteFunctions,
	task: (itemIndex: number, options: RunOptions, client: OrchestratorClient) => Promise<object>,
): Promise<INodeExecutionData[][]> {
	const client = await n8nClient(ctx);
	const options = (i: number) =>
		parseRunOptions(ctx.getNodeParameter('options', i, {}) as IDataObject);
	return executeItems(
		ctx,
		options(0).concurrency,
		async (i) => (await task(i, options(i), client)) as IDataObject,
	);
}
