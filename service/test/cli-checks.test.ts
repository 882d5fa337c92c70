import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { satisfiesMinimum } from '../src/cli/checks/check';
import { checkAllowedRoots } from '../src/cli/checks/roots';
import { checkClaude, checkGit } from '../src/cli/checks/tools';
import { claudeBinary } from '../../test/fakes/claude-cli';
import { checkDeliveryRules } from '../src/cli/checks/urls';
import { SERVICE_ENV_HELP } from '../src/cli/help';
import { loadConfig, SERVICE_ENV_VARS } from '../src/config';

// The doctor's rules on their own; test/deploy/package-cli.test.ts runs the whole command from the packed package.

describe('doctor checks', () => {
	it('compares versions against >= ranges', () => {
		expect(satisfiesMinimum('v20.20.2', '>=20.18.1')).toBe(true);
		expect(satisfiesMinimum('v20.18.1', '>=20.18.1')).toBe(true);
		expect(satisfiesMinimum('v20.18.0', '>=20.18.1')).toBe(false);
		expect(satisfiesMinimum('v20.20.2', '>=22.0.0')).toBe(false);
		expect(satisfiesMinimum('v24.1.0', '>=22')).toBe(true);
	});

	it('describes every variable the service reads', () => {
		expect(Object.keys(SERVICE_ENV_HELP).sort()).toEqual([...SERVICE_ENV_VARS].sort());
	});

	it('checks every allowed root and names each problem with its fix', () => {
		const base = fs.mkdtempSync(path.join(os.tmpdir(), 'orch-roots-'));
		try {
			const file = path.join(base, 'file');
			fs.writeFileSync(file, '');
			const check = checkAllowedRoots({
				CLAUDE_ORCHESTRATOR_ALLOWED_ROOTS: `${base},${path.join(base, 'missing')},${file},relative/dir`,
			});
			expect(check.status).toBe('fail');
			expect(check.detail).toBe(
				`${path.join(base, 'missing')} does not exist; ${file} is not a folder; relative/dir is not an absolute path (from CLAUDE_ORCHESTRATOR_ALLOWED_ROOTS)`,
			);
			expect(check.fix).toContain(`mkdir -p ${path.join(base, 'missing')}`);
			expect(checkAllowedRoots({ CLAUDE_ORCHESTRATOR_ALLOWED_ROOTS: base })).toMatchObject({
				status: 'ok',
			});
		} finally {
			fs.rmSync(base, { recursive: true, force: true });
		}
	});

	it('refuses malformed delivery host entries and says whether n8n may be delivered to', async () => {
		const bad = await checkDeliveryRules(
			loadConfig({ DELIVERY_ALLOWED_HOSTS: 'n8n,http://n8n:5678' }),
			undefined,
		);
		expect(bad).toMatchObject({
			status: 'fail',
			detail: expect.stringContaining('http://n8n:5678'),
		});
		const refused = await checkDeliveryRules(loadConfig({}), 'http://10.1.2.3:5678');
		expect(refused).toMatchObject({
			status: 'fail',
			fix: 'add 10.1.2.3 to DELIVERY_ALLOWED_HOSTS (DELIVERY_ALLOWED_HOSTS=10.1.2.3)',
		});
		const allowed = await checkDeliveryRules(
			loadConfig({ DELIVERY_ALLOWED_HOSTS: '*.internal' }),
			'http://n8n.internal:5678',
		);
		expect(allowed).toMatchObject({
			status: 'ok',
			detail: 'only *.internal: n8n at n8n.internal is allowed',
		});
	});

	it('runs the real claude and git, and says how to install claude when it is not there', async () => {
		const found = await checkClaude(claudeBinary());
		expect(found.status).toBe('ok');
		expect(found.detail).toMatch(
			/^2\.1\.331 \(Claude Code\) at .* \(native binary, runs without Node; its npm package declares Node >=22\.0\.0\)$/,
		);
		const missing = await checkClaude('/nonexistent/claude');
		expect(missing).toMatchObject({
			status: 'fail',
			detail: '"/nonexistent/claude" does not exist or is not an executable file',
		});
		expect(missing.fix).toMatch(/^npm install -g @anthropic-ai\/claude-code@2\.1\.331 /);
		expect(await checkGit()).toMatchObject({
			status: 'ok',
			detail: expect.stringMatching(/^git version \d+\.\d+/),
		});
	});
});
