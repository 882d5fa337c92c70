import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

// A table is written by one repository only (README, Development): a second file writing it is how two code
// paths start to disagree on what a row holds. Hook ingestion composes its statement from pieces the owning
// repositories export, so those writes are still written in the owner's file.

const SRC = path.join(__dirname, '..', 'src');

// SQL keywords are upper case in this code base; the table names that follow are lower case.
const WRITE = /\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+([a-z_][a-z0-9_]*)\b/g;
// A table name spliced in: the scan cannot tell which table, so only the imported-row insert may do it.
const SPLICED = /\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+\$\{/;
// An exported row imported through db/imported-row.ts names its table as a string.
const IMPORTED = /\binsertImportedRow\(\s*\w+\s*,\s*'([a-z_][a-z0-9_]*)'/g;

function sourceFiles(dir: string): string[] {
	return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
		const full = path.join(dir, e.name);
		if (e.isDirectory()) return sourceFiles(full);
		return e.name.endsWith('.ts') ? [full] : [];
	});
}

/** The code without its comments (TypeScript's and SQL's): words in a comment are not writes. */
function withoutComments(text: string): string {
	return text
		.replace(/\/\*[\s\S]*?\*\//g, '')
		.replace(/(^|\s)\/\/.*$/gm, '$1')
		.replace(/--.*$/gm, '');
}

/** Each written table with the files that write it. */
function writersByTable(files: Array<{ file: string; text: string }>) {
	const writers = new Map<string, Set<string>>();
	for (const { file, text } of files) {
		for (const pattern of [WRITE, IMPORTED]) {
			for (const m of text.matchAll(pattern)) {
				const set = writers.get(m[1]) ?? new Set<string>();
				set.add(file);
				writers.set(m[1], set);
			}
		}
	}
	return writers;
}

/** "table: file, file" for each table written from more than one file. */
function sharedTables(files: Array<{ file: string; text: string }>): string[] {
	return [...writersByTable(files)]
		.filter(([, set]) => set.size > 1)
		.map(([table, set]) => `${table}: ${[...set].sort().join(', ')}`);
}

describe('one writer per table', () => {
	const files = sourceFiles(SRC).map((f) => ({
		file: path.relative(SRC, f),
		text: withoutComments(readFileSync(f, 'utf8')),
	}));

	it('finds the writes it checks', () => {
		const writers = writersByTable(files);
		// The scan itself works: these tables are written, each from its own repository.
		expect([...(writers.get('sessions') ?? [])]).toEqual([
			path.join('sessions', 'sessions.repository.ts'),
		]);
		expect(writers.get('hook_events')?.size).toBe(1);
		expect(writers.get('budget_reservations')?.size).toBe(1);
	});

	it('each table is written from exactly one file', () => {
		expect(sharedTables(files)).toEqual([]);
	});

	it('writes outside a repository file only in the migrator', () => {
		const outside = [...writersByTable(files)].flatMap(([table, set]) =>
			[...set]
				.filter((f) => !f.endsWith('.repository.ts') && table !== 'schema_migrations')
				.map((f) => `${table}: ${f}`),
		);
		expect(outside).toEqual([]);
	});

	it('names its table in every write, but for the imported-row insert the repositories call', () => {
		expect(files.filter((f) => SPLICED.test(f.text)).map((f) => f.file)).toEqual([
			path.join('db', 'imported-row.ts'),
		]);
	});

	it('a second writer is caught', () => {
		const elsewhere = (text: string) => sharedTables([...files, { file: 'elsewhere.ts', text }]);
		expect(elsewhere("db.query('UPDATE sessions SET status = $2 WHERE id = $1')")).toEqual([
			`sessions: elsewhere.ts, ${path.join('sessions', 'sessions.repository.ts')}`,
		]);
		expect(elsewhere('`INSERT INTO budget_holds (run_id) VALUES ($1)`')).toHaveLength(1);
		expect(elsewhere('`DELETE FROM\n\t\tbudgets WHERE id = $1`')).toHaveLength(1);
		expect(elsewhere("insertImportedRow(tx, 'threads', values)")).toHaveLength(1);
	});
});
