// A throw-away certificate authority and a leaf for Slack's hosts, made with the openssl CLI at test start.
// n8n trusts the CA through NODE_EXTRA_CA_CERTS, so its Slack nodes talk TLS to the fake exactly as to slack.com.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const OPENSSL_TIMEOUT_MS = 30_000;

export interface TestPki {
	dir: string;
	/** PEM file of the CA: what NODE_EXTRA_CA_CERTS points at. */
	caFile: string;
	ca: string;
	cert: string;
	key: string;
	remove(): void;
}

async function openssl(args: string[], cwd: string): Promise<void> {
	try {
		await run('openssl', args, { cwd, timeout: OPENSSL_TIMEOUT_MS });
	} catch (error) {
		const e = error as NodeJS.ErrnoException & { stderr?: string };
		if (e.code === 'ENOENT')
			throw new Error('The openssl CLI is missing: install it (apt-get install -y openssl)');
		throw new Error(`openssl ${args.join(' ')} failed: ${e.stderr ?? e.message}`);
	}
}

/** A CA valid for a day and a leaf for `hosts` (first one is the CN) signed by it, in a new temp folder. */
export async function createTestPki(hosts: string[]): Promise<TestPki> {
	const dir = mkdtempSync(join(tmpdir(), 'fake-slack-pki-'));
	try {
		await openssl(
			[
				'req',
				'-x509',
				'-newkey',
				'rsa:2048',
				'-nodes',
				'-keyout',
				'ca.key',
				'-out',
				'ca.pem',
				'-days',
				'1',
				'-subj',
				'/CN=fake-slack test CA',
			],
			dir,
		);
		await openssl(
			[
				'req',
				'-newkey',
				'rsa:2048',
				'-nodes',
				'-keyout',
				'leaf.key',
				'-out',
				'leaf.csr',
				'-subj',
				`/CN=${hosts[0]}`,
			],
			dir,
		);
		const san = hosts.map((h) => `DNS:${h}`).join(',');
		writeFileSync(
			join(dir, 'ext.cnf'),
			`subjectAltName=${san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`,
		);
		await openssl(
			[
				'x509',
				'-req',
				'-in',
				'leaf.csr',
				'-CA',
				'ca.pem',
				'-CAkey',
				'ca.key',
				'-CAcreateserial',
				'-out',
				'leaf.pem',
				'-days',
				'1',
				'-extfile',
				'ext.cnf',
			],
			dir,
		);
	} catch (error) {
		rmSync(dir, { recursive: true, force: true });
		throw error;
	}
	const read = (name: string) => readFileSync(join(dir, name), 'utf8');
	return {
		dir,
		caFile: join(dir, 'ca.pem'),
		ca: read('ca.pem'),
		cert: read('leaf.pem'),
		key: read('leaf.key'),
		remove: () => rmSync(dir, { recursive: true, force: true }),
	};
}
