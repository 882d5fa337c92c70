import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const NPM_TIMEOUT_MS = 5 * 60_000;

/** `<userFolder>/.n8n/nodes`: n8n scans its node_modules/{n8n-nodes-*,@*\/n8n-nodes-*} at boot (n8n.md §4). */
export function nodesDir(userFolder: string): string {
	return path.join(userFolder, '.n8n', 'nodes');
}

function prepareNodesDir(userFolder: string): string {
	const dir = nodesDir(userFolder);
	fs.mkdirSync(path.join(dir, 'node_modules'), { recursive: true });
	const manifest = path.join(dir, 'package.json');
	if (!fs.existsSync(manifest))
		fs.writeFileSync(manifest, '{"name":"installed-nodes","private":true,"dependencies":{}}\n');
	return dir;
}

/**
 * The realistic path: what a user's `npm install` of the published tarball gives, runtime dependencies included.
 * `--legacy-peer-deps` keeps npm from installing its own n8n-workflow (the package must use n8n's);
 * `--ignore-scripts` because the package has no install scripts and its dependencies' scripts are not needed.
 */
export async function installTarball(userFolder: string, tarball: string): Promise<string> {
	const dir = prepareNodesDir(userFolder);
	const name = readTarballName(tarball);
	fs.rmSync(path.join(dir, 'node_modules', name), { recursive: true, force: true });
	// --no-save: a reused folder must not remember a tarball path that a later run has deleted.
	const args = [
		'install',
		'--legacy-peer-deps',
		'--ignore-scripts',
		'--package-lock=false',
		'--no-save',
	];
	args.push('--no-audit', '--no-fund', '--prefer-offline', path.resolve(tarball));
	const { code, output } = await run('npm', args, dir);
	if (code !== 0)
		throw new Error(
			`npm ${args.join(' ')} failed in ${dir} (exit ${code}):\n${output.slice(-4000)}`,
		);
	return path.join(dir, 'node_modules', name);
}

/**
 * The fast path for a built checkout: copy what `npm pack` would ship (package.json + its `files`), and link each
 * runtime dependency from the checkout's node_modules. The copy (not a symlink) matters: Node resolves modules from
 * the real path, and a symlinked package would load the checkout's devDependency copy of n8n-workflow instead of
 * n8n's own. Transitive dependencies resolve through the linked packages' real paths.
 */
export function installFromDir(userFolder: string, packageDir: string): string {
	const dir = prepareNodesDir(userFolder);
	const manifest = JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as {
		name: string;
		files?: string[];
		dependencies?: Record<string, string>;
	};
	const target = path.join(dir, 'node_modules', manifest.name);
	fs.rmSync(target, { recursive: true, force: true });
	fs.mkdirSync(target, { recursive: true });
	fs.copyFileSync(path.join(packageDir, 'package.json'), path.join(target, 'package.json'));
	for (const entry of manifest.files ?? ['dist']) {
		const from = path.join(packageDir, entry);
		if (!fs.existsSync(from))
			throw new Error(`${from} is missing: build the package first (npm run build)`);
		fs.cpSync(from, path.join(target, entry), { recursive: true });
	}
	for (const dep of Object.keys(manifest.dependencies ?? {})) {
		const found = findDependency(packageDir, dep);
		if (!found)
			throw new Error(
				`runtime dependency ${dep} not found from ${packageDir}: run npm install there`,
			);
		const link = path.join(target, 'node_modules', dep);
		fs.mkdirSync(path.dirname(link), { recursive: true });
		fs.symlinkSync(fs.realpathSync(found), link, 'dir');
	}
	return target;
}

// Node's own lookup: <dir>/node_modules/<name>, then each parent folder.
function findDependency(fromDir: string, name: string): string | undefined {
	for (let dir = path.resolve(fromDir); ; dir = path.dirname(dir)) {
		const candidate = path.join(dir, 'node_modules', name);
		if (fs.existsSync(path.join(candidate, 'package.json'))) return candidate;
		if (path.dirname(dir) === dir) return undefined;
	}
}

// `npm pack` names tarballs `<name>-<version>.tgz` (scope folded in with a dash), which loses the scope slash;
// read the manifest from the tarball instead of guessing.
function readTarballName(tarball: string): string {
	const json = execFileSync('tar', ['-xzOf', tarball, 'package/package.json'], {
		encoding: 'utf8',
		timeout: 30_000,
	});
	return (JSON.parse(json) as { name: string }).name;
}

function run(
	cmd: string,
	args: string[],
	cwd: string,
): Promise<{ code: number | null; output: string }> {
	return new Promise((resolve, reject) => {
		const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
		let output = '';
		child.stdout.on('data', (d: Buffer) => (output += d.toString()));
		child.stderr.on('data', (d: Buffer) => (output += d.toString()));
		const timer = setTimeout(() => child.kill('SIGKILL'), NPM_TIMEOUT_MS);
		child.on('error', (err) => {
			clearTimeout(timer);
			reject(err);
		});
		child.on('exit', (code) => {
			clearTimeout(timer);
			resolve({ code, output });
		});
	});
}
