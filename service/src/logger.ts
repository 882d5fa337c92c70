// One logger: JSON lines on stderr. Fields are data, never secrets (callers pass ids and counts, not payloads).
type Level = 'debug' | 'info' | 'warn' | 'error';
const order: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const threshold = order[(process.env.LOG_LEVEL as Level) ?? 'info'] ?? order.info;

function log(level: Level, msg: string, fields?: Record<string, unknown>) {
	if (order[level] < threshold) return;
	process.stderr.write(
		JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }) + '\n',
	);
}

export const logger = {
	debug: (msg: string, fields?: Record<string, unknown>) => log('debug', msg, fields),
	info: (msg: string, fields?: Record<string, unknown>) => log('info', msg, fields),
	warn: (msg: string, fields?: Record<string, unknown>) => log('warn', msg, fields),
	error: (msg: string, fields?: Record<string, unknown>) => log('error', msg, fields),
};
