import { randomBytes } from 'node:crypto';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

/** A fresh, real-path temp folder and a function that removes it. */
export function tempDir(prefix: string): { dir: string; remove(): void } {
	const dir = realpathSync(mkdtempSync(path.join(tmpdir(), `${prefix}-`)));
	return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A marker path that an injected command would create; tests assert it never appears. */
export function pwnedMarker(): string {
	return path.join(tmpdir(), `pwned-${randomBytes(6).toString('hex')}`);
}
