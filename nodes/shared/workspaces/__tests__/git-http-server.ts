import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';

// A loopback stand-in for github.com: git's own smart-HTTP server (git http-backend, run as CGI) behind
// a check of the Authorization header, so tests see the token arrive the way GitHub would.

export interface GitHttpServer {
	baseUrl: string;
	/** Authorization header of every request, in order (undefined when none was sent). */
	authorizations: Array<string | undefined>;
	/** Response body bytes sent so far: what a download cost, whatever the machine's speed. */
	bytesSent(): number;
	close(): Promise<void>;
}

/**
 * `bytesPerSecond` throttles responses, to stand in for the network between n8n and GitHub (loopback
 * is so fast that it hides what a local mirror saves).
 */
export async function startGitHttpServer(
	projectRoot: string,
	token?: string,
	bytesPerSecond = 0,
): Promise<GitHttpServer> {
	const backend = path.join(
		execFileSync('git', ['--exec-path'], { encoding: 'utf8' }).trim(),
		'git-http-backend',
	);
	const expected = token
		? `Basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`
		: undefined;
	const authorizations: Array<string | undefined> = [];
	let bytesSent = 0;

	const server = createServer((req: IncomingMessage, res: ServerResponse) => {
		authorizations.push(req.headers.authorization);
		if (expected && req.headers.authorization !== expected) {
			res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="fake github"' }).end('Unauthorized\n');
			return;
		}
		const url = new URL(req.url ?? '/', 'http://localhost');
		const child = spawn(backend, [], {
			env: {
				PATH: process.env.PATH,
				GIT_PROJECT_ROOT: projectRoot,
				GIT_HTTP_EXPORT_ALL: '1',
				PATH_INFO: decodeURIComponent(url.pathname),
				QUERY_STRING: url.search.slice(1),
				REQUEST_METHOD: req.method ?? 'GET',
				CONTENT_TYPE: req.headers['content-type'] ?? '',
				HTTP_CONTENT_ENCODING: req.headers['content-encoding'] ?? '',
				GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
				REMOTE_ADDR: '127.0.0.1',
				REMOTE_USER: expected ? 'x-access-token' : '',
			},
			stdio: ['pipe', 'pipe', 'inherit'],
		});
		req.pipe(child.stdin);
		let head = Buffer.alloc(0);
		let headersDone = false;
		const send = (chunk: Buffer): void => {
			bytesSent += chunk.length;
			res.write(chunk);
			if (bytesPerSecond > 0 && chunk.length > 0) {
				child.stdout.pause();
				setTimeout(() => child.stdout.resume(), (chunk.length / bytesPerSecond) * 1000);
			}
		};
		child.stdout.on('data', (chunk: Buffer) => {
			if (headersDone) {
				send(chunk);
				return;
			}
			head = Buffer.concat([head, chunk]);
			const end = head.indexOf('\r\n\r\n');
			if (end === -1) return;
			headersDone = true;
			let status = 200;
			for (const line of head.subarray(0, end).toString('latin1').split('\r\n')) {
				const colon = line.indexOf(':');
				const name = line.slice(0, colon).trim();
				const value = line.slice(colon + 1).trim();
				if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
				else res.setHeader(name, value);
			}
			res.statusCode = status;
			send(head.subarray(end + 4));
		});
		child.on('close', () => res.end());
		child.on('error', () => res.destroy());
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as AddressInfo;
	return {
		baseUrl: `http://127.0.0.1:${port}`,
		authorizations,
		bytesSent: () => bytesSent,
		close: () =>
			new Promise<void>((resolve) => {
				server.closeAllConnections();
				server.close(() => resolve());
			}),
	};
}
