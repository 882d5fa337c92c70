// A private dovecot IMAP server on loopback, from a config file generated into a temp folder: nothing of the
// system's dovecot (/etc/dovecot, its service) is used or started. Needs the dovecot-imapd package
// (reference/n8n-slack-email.md §3.1): apt-get install -y --no-install-recommends dovecot-imapd
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
	chmodSync,
	chownSync,
	existsSync,
	mkdirSync,
	mkdtempSync,
	readFileSync,
	rmSync,
	writeFileSync,
} from 'node:fs';
import * as net from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../../scripts/n8n/free-port';
import { groupAlive } from '../../support/claude-pid';
import { sleep, waitFor } from '../../support/wait';

const READY_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 10_000;
const DOVECOT_CANDIDATES = ['/usr/sbin/dovecot', '/usr/local/sbin/dovecot'];
export const DOVECOT_APT_LINE =
	'DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends dovecot-imapd';

export interface MailUser {
	user: string;
	password: string;
}

export interface Dovecot {
	host: string;
	port: number;
	dir: string;
	log(): string;
	stop(): Promise<void>;
}

function findDovecot(): string {
	const found = DOVECOT_CANDIDATES.find((p) => existsSync(p));
	if (!found)
		throw new Error(
			`dovecot is not installed (looked at ${DOVECOT_CANDIDATES.join(', ')}). Install it with: ${DOVECOT_APT_LINE}`,
		);
	return found;
}

function idOf(kind: 'user' | 'group', name: string): number | undefined {
	const file = kind === 'user' ? '/etc/passwd' : '/etc/group';
	const line = readFileSync(file, 'utf8')
		.split('\n')
		.find((l) => l.startsWith(`${name}:`));
	return line ? Number(line.split(':')[2]) : undefined;
}

interface Identity {
	mailUid: number;
	mailGid: number;
	internalUser: string;
	loginUser: string;
}

// Dovecot refuses to run mail processes as root. As root (CI), mail belongs to nobody and the packaged
// dovecot/dovenull users run the internals; as anyone else everything runs as that user.
function identity(): Identity {
	const me = userInfo();
	if (me.uid !== 0)
		return { mailUid: me.uid, mailGid: me.gid, internalUser: me.username, loginUser: me.username };
	const nobody = idOf('user', 'nobody');
	const nogroup = idOf('group', 'nogroup') ?? idOf('group', 'nobody');
	if (nobody === undefined || nogroup === undefined)
		throw new Error('dovecot as root needs the nobody user and the nogroup group');
	for (const u of ['dovecot', 'dovenull']) {
		if (idOf('user', u) === undefined)
			throw new Error(
				`the ${u} user is missing; the dovecot-core package creates it (${DOVECOT_APT_LINE})`,
			);
	}
	return { mailUid: nobody, mailGid: nogroup, internalUser: 'dovecot', loginUser: 'dovenull' };
}

function config(dir: string, port: number, id: Identity): string {
	return `# Generated for one test run; see test/fakes/mail/dovecot.ts
protocols = imap
listen = 127.0.0.1
base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = ${id.internalUser}
default_login_user = ${id.loginUser}
first_valid_uid = ${Math.min(id.mailUid, 500)}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${dir}/users
}
userdb {
  driver = static
  args = uid=${id.mailUid} gid=${id.mailGid} home=${dir}/mail/%u
}
mail_location = maildir:~/Maildir
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
}
# New mail reaches an IDLE client within a second (n8n's IMAP trigger idles).
mailbox_idle_check_interval = 1 secs
# Logs "Mailbox INBOX: Mailbox opened because: SELECT": how tests know a reader is watching the mailbox.
mail_debug = yes
`;
}

function greets(port: number): Promise<boolean> {
	return new Promise((resolve) => {
		const socket = net.connect(port, '127.0.0.1');
		const done = (ok: boolean) => {
			socket.destroy();
			resolve(ok);
		};
		socket.setTimeout(1_000, () => done(false));
		socket.once('data', (d) => done(d.toString().startsWith('* OK')));
		socket.once('error', () => done(false));
	});
}

export async function startDovecot(users: MailUser[]): Promise<Dovecot> {
	const binary = findDovecot();
	const id = identity();
	const dir = mkdtempSync(join(tmpdir(), 'fake-imap-'));
	// mkdtemp makes the folder 0700; dovecot's unprivileged processes must reach the mail and run folders in it.
	chmodSync(dir, 0o755);
	for (const sub of ['run', 'state', 'mail']) mkdirSync(join(dir, sub), { recursive: true });
	chownSync(join(dir, 'mail'), id.mailUid, id.mailGid);
	writeFileSync(
		join(dir, 'users'),
		users.map((u) => `${u.user}:{PLAIN}${u.password}`).join('\n') + '\n',
		{ mode: 0o644 },
	);
	const port = await freePort();
	const conf = join(dir, 'dovecot.conf');
	writeFileSync(conf, config(dir, port, id));
	const check = spawnSync(binary, ['-c', conf, '-n'], { encoding: 'utf8', timeout: 15_000 });
	if (check.status !== 0) {
		rmSync(dir, { recursive: true, force: true });
		throw new Error(`dovecot rejected its generated config: ${check.stderr || check.stdout}`);
	}
	// -F keeps the master in the foreground as our child, leader of its own group with every dovecot process.
	const child: ChildProcess = spawn(binary, ['-F', '-c', conf], {
		detached: true,
		stdio: ['ignore', 'ignore', 'pipe'],
	});
	let stderr = '';
	child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
	const readLog = () => {
		try {
			return readFileSync(join(dir, 'dovecot.log'), 'utf8');
		} catch {
			return '';
		}
	};
	const stop = async () => {
		const pgid = child.pid;
		if (pgid !== undefined && groupAlive(pgid)) {
			process.kill(-pgid, 'SIGTERM');
			await waitFor(() => !groupAlive(pgid), STOP_TIMEOUT_MS, 100);
			if (groupAlive(pgid)) process.kill(-pgid, 'SIGKILL');
		}
		rmSync(dir, { recursive: true, force: true });
	};
	const deadline = Date.now() + READY_TIMEOUT_MS;
	while (!(await greets(port))) {
		if (child.exitCode !== null || Date.now() > deadline) {
			const why =
				child.exitCode !== null
					? `exited with ${child.exitCode}`
					: `not ready within ${READY_TIMEOUT_MS} ms`;
			const log = `${stderr}\n${readLog()}`.trim();
			await stop();
			throw new Error(`dovecot ${why}:\n${log}`);
		}
		await sleep(50);
	}
	return { host: '127.0.0.1', port, dir, log: readLog, stop };
}
