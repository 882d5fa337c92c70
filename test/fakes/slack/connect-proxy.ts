// An HTTP proxy for HTTPS_PROXY/HTTP_PROXY: CONNECTs to Slack's hosts are tunnelled into the fake Slack server;
// loopback targets (anything that ignores NO_PROXY, such as a child process) pass through; everything else is
// refused and recorded, so a test run can never reach the internet and an unexpected destination is visible.
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface ProxyLogEntry {
	kind: 'intercepted' | 'passed' | 'refused';
	target: string;
	at: number;
}

export interface ConnectProxy {
	url: string;
	log: ProxyLogEntry[];
	close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

function splitTarget(target: string): { host: string; port: number } {
	const i = target.lastIndexOf(':');
	const host = i === -1 ? target : target.slice(0, i);
	const port = i === -1 ? 443 : Number(target.slice(i + 1));
	return { host: host.replace(/^\[|\]$/g, ''), port };
}

export async function startConnectProxy(opts: {
	intercept: (host: string) => boolean;
	interceptPort: number;
}): Promise<ConnectProxy> {
	const log: ProxyLogEntry[] = [];
	const sockets = new Set<net.Socket>();
	const track = (s: net.Socket) => {
		sockets.add(s);
		s.on('close', () => sockets.delete(s));
		// A peer resetting a tunnel is normal at shutdown; an unhandled 'error' would crash the test process.
		s.on('error', () => s.destroy());
	};

	const server = http.createServer((req, res) => {
		// Plain-HTTP proxying (absolute URI): only loopback, which is all a test needs.
		let target: URL;
		try {
			target = new URL(req.url ?? '');
		} catch {
			res.writeHead(400).end('absolute URL expected');
			return;
		}
		if (!LOOPBACK.has(target.hostname)) {
			log.push({ kind: 'refused', target: target.host, at: Date.now() });
			res.writeHead(403).end('fake proxy: only loopback and Slack are reachable');
			return;
		}
		log.push({ kind: 'passed', target: target.host, at: Date.now() });
		const upstream = http.request(target, { method: req.method, headers: req.headers }, (up) => {
			res.writeHead(up.statusCode ?? 502, up.headers);
			up.pipe(res);
		});
		upstream.on('error', () => (res.headersSent ? res.destroy() : res.writeHead(502).end()));
		req.pipe(upstream);
	});

	server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
		track(client);
		const target = req.url ?? '';
		const { host, port } = splitTarget(target);
		let destination: { host: string; port: number };
		if (opts.intercept(host)) {
			destination = { host: '127.0.0.1', port: opts.interceptPort };
			log.push({ kind: 'intercepted', target, at: Date.now() });
		} else if (LOOPBACK.has(host)) {
			destination = { host, port };
			log.push({ kind: 'passed', target, at: Date.now() });
		} else {
			log.push({ kind: 'refused', target, at: Date.now() });
			client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
			return;
		}
		const upstream = net.connect(destination.port, destination.host, () => {
			client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
			if (head.length) upstream.write(head);
			upstream.pipe(client);
			client.pipe(upstream);
		});
		track(upstream);
		upstream.on('error', () => client.destroy());
	});

	await new Promise<void>((resolve, reject) => {
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => resolve());
	});
	const { port } = server.address() as AddressInfo;
	return {
		url: `http://127.0.0.1:${port}`,
		log,
		async close() {
			for (const s of sockets) s.destroy();
			server.closeAllConnections();
			await new Promise<void>((resolve) => server.close(() => resolve()));
		},
	};
}
