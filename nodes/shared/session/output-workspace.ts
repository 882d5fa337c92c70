import type { PreparedWorkspace } from '../runner';
import type { SessionOutput } from './session-run';

/** The workspace as a turn's output shows it: no launcher, a null branch when it has none, a sandbox id for E2B. */
export function outputWorkspace(workspace: PreparedWorkspace): SessionOutput['workspace'] {
	return {
		type: workspace.type,
		path: workspace.path,
		branch: workspace.branch ?? null,
		...(workspace.sandboxId ? { sandboxId: workspace.sandboxId } : {}),
	};
}
