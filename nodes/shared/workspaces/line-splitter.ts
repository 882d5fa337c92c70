/**
 * Turns output chunks, which break anywhere (mid-line, mid-JSON), into complete lines. A trailing `\r`
 * is dropped so CRLF output reads the same; `end()` delivers a last line that had no newline. Only the
 * new chunk is searched and an unfinished line is kept in pieces, so a multi-megabyte line (a big tool
 * result) arriving in small chunks is joined once, not re-scanned per chunk.
 */
export class LineSplitter {
	private pending: string[] = [];

	constructor(private readonly emit: (line: string) => void) {}

	push(chunk: string): void {
		let start = 0;
		for (let newline = chunk.indexOf('\n'); newline !== -1; newline = chunk.indexOf('\n', start)) {
			this.pending.push(chunk.slice(start, newline));
			this.flush();
			start = newline + 1;
		}
		if (start < chunk.length) this.pending.push(chunk.slice(start));
	}

	end(): void {
		if (this.pending.length > 0) this.flush();
	}

	private flush(): void {
		const line = this.pending.length === 1 ? this.pending[0] : this.pending.join('');
		this.pending = [];
		this.emit(line.endsWith('\r') ? line.slice(0, -1) : line);
	}
}
