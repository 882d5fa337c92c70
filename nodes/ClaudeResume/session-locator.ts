// Claude Resume 1.1 picks its session the way n8n's own nodes pick records: from a searchable list of the
// service's sessions, by id, or by the thread key a workflow got from Slack or email.
import type {
	IDataObject,
	ILoadOptionsFunctions,
	INodeListSearchResult,
	INodeProperties,
	INodeParameterResourceLocator,
} from 'n8n-workflow';
import { orchestratorCredentials, orchestratorRequest } from '../shared/transport';

const UUID = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
const LIST_PAGE = 50;

export const sessionLocator: INodeProperties = {
	displayName: 'Session',
	name: 'session',
	type: 'resourceLocator',
	default: { mode: 'threadKey', value: '' },
	required: true,
	description: 'The session to continue',
	modes: [
		{
			displayName: 'From List',
			name: 'list',
			type: 'list',
			typeOptions: { searchListMethod: 'searchSessions', searchable: true },
		},
		{
			displayName: 'By Thread Key',
			name: 'threadKey',
			type: 'string',
			placeholder: 'slack:C0123:1700000000.000100',
		},
		{
			displayName: 'By ID',
			name: 'id',
			type: 'string',
			placeholder: '1783e529-b137-4c6a-bc9b-97b1e0374b55',
			validation: [
				{
					type: 'regex',
					properties: {
						regex: UUID,
						errorMessage: 'A session ID is a uuid, as Claude Session Start returned it',
					},
				},
			],
		},
	],
};

/** What the locator names: a session id (from the list or typed in) or a thread key. */
export function sessionTarget(locator: INodeParameterResourceLocator): {
	sessionId?: string;
	threadKey?: string;
} {
	const value = String(locator.value ?? '').trim();
	return locator.mode === 'threadKey' ? { threadKey: value } : { sessionId: value };
}

interface ListedSession {
	id: string;
	status: string;
	prompt: string | null;
	threadKey: string | null;
	workspace: { type: string | null };
}

interface SessionPage {
	items: ListedSession[];
	nextCursor: string | null;
}

/** The service's sessions, newest first, matching the search text; the service's cursor pages on. */
export async function searchSessions(
	this: ILoadOptionsFunctions,
	filter?: string,
	paginationToken?: string,
): Promise<INodeListSearchResult> {
	const { baseUrl } = await orchestratorCredentials(this);
	const qs: IDataObject = { limit: LIST_PAGE };
	if (filter?.trim()) qs.q = filter.trim();
	if (paginationToken) qs.cursor = paginationToken;
	const page = (await orchestratorRequest.call(
		this,
		'GET',
		'/api/v1/sessions',
		undefined,
		qs,
	)) as unknown as SessionPage;
	return {
		// Sessions Claude Session Start did not run (external ones) have no workspace to resume in.
		results: page.items
			.filter((s) => s.workspace.type && s.workspace.type !== 'external')
			.map((s) => ({
				name: `${oneLine(s.prompt) || '(no prompt)'} · ${s.status}${s.threadKey ? ` · ${s.threadKey}` : ''}`,
				value: s.id,
				url: `${baseUrl}/#/sessions/${s.id}`,
			})),
		paginationToken: page.nextCursor ?? undefined,
	};
}

function oneLine(text: string | null): string {
	const line = (text ?? '').replace(/\s+/g, ' ').trim();
	return line.length > 80 ? `${line.slice(0, 79)}…` : line;
}
