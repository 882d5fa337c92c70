// Contracts between the runner (spawns claude, parses its stream), the workspaces (where it runs)
// and the sink (where what it saw is written: the orchestrator service).

/** A started process whose stdout is read line by line. Local processes and E2B sandbox commands both fit. */
export interface RunningProcess {
	/** Called once per complete stdout line (without the newline), in order. */
	onLine(listener: (line: string) => void): void;
	/** Called with stderr text as it arrives (kept for error messages). */
	onStderr(listener: (chunk: string) => void): void;
	/** Sends a signal to the whole process group (local) or the command (sandbox). */
	signal(signal: 'SIGINT' | 'SIGTERM' | 'SIGKILL'): void;
	/** Resolves when the process has exited and its output is fully read. */
	readonly exited: Promise<{ code: number | null; signal: string | null }>;
}

export interface LaunchSpec {
	command: string;
	args: string[];
	cwd: string;
	env: Record<string, string>;
}

/** Starts `claude` where the workspace lives: on this machine, or inside a sandbox. */
export interface ProcessLauncher {
	launch(spec: LaunchSpec): Promise<RunningProcess>;
}

export type { WorkspaceType } from '../protocol/sessions';
import type { WorkspaceType } from '../protocol/sessions';

export interface PreparedWorkspace {
	type: WorkspaceType;
	/** The folder claude runs in (inside the sandbox for e2b). */
	path: string;
	branch?: string;
	repository?: string;
	sandboxId?: string;
	launcher: ProcessLauncher;
	/** Something the workflow should know about how the workspace was found (e.g. cloned again, work lost). */
	notice?: string;
}
