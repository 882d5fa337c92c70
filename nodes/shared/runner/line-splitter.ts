// Splits a byte stream into text lines: chunks may end mid-line or mid-character, lines may end in \r\n,
// the last line may have no newline, and one line (a big tool result) may be many megabytes.
import { StringDecoder } from 'node:string_decoder';

export class LineSplitter {
	private readonly decoder = new StringDecoder('utf8');
	// Pieces of the current unfinished line; joined once when its newline arrives, so a multi-MB line
	// arriving in 64 KB chunks costs one concatenation rather than one per chunk.
	private pending: string[] = [];

	constructor(private readonly onLine: (line: string) => void) {}

	push(chunk: Buffer | string): void {
		const text = typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
		let start = 0;
		let newline = text.indexOf('\n', start);
		while (newline !== -1) {
			this.pending.push(text.slice(start, newline));
			this.emit();
			start = newline + 1;
			newline = text.indexOf('\n', start);
		}
		if (start < text.length) this.pending.push(text.slice(start));
	}

	/** Call at end of stream: emits the last line when it had no newline. */
	end(): void {
		const rest = this.decoder.end();
		if (rest.length > 0) this.pending.push(rest);
		if (this.pending.length > 0) this.emit();
	}

	private emit(): void {
		let line = this.pending.length === 1 ? this.pending[0] : this.pending.join('');
		this.pending = [];
		if (line.endsWith('\r')) line = line.slice(0, -1);
		this.onLine(line);
	}
}
