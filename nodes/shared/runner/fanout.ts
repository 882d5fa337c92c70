/**
 * Delivers a process's output to its listeners; what arrives before the first listener is kept for it, so lines
 * printed before onLine() was called are not lost. Local and E2B processes both use it.
 */
export class Fanout<T> {
	private listeners: Array<(value: T) => void> = [];
	private backlog: T[] = [];

	add(listener: (value: T) => void): void {
		this.listeners.push(listener);
		if (this.listeners.length === 1 && this.backlog.length > 0) {
			const held = this.backlog;
			this.backlog = [];
			for (const value of held) listener(value);
		}
	}

	emit(value: T): void {
		if (this.listeners.length === 0) {
			this.backlog.push(value);
			return;
		}
		for (const listener of this.listeners) listener(value);
	}
}
