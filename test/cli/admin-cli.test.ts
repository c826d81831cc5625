import { execFile } from 'node:child_process';
import path from 'node:path';
import { startStack, type TestStack } from '../support/stack';
import { P, api } from '../support/http';
import { expectError } from '../support/expect';

const ROOT = path.join(__dirname, '..', '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The admin CLI exactly as a newcomer runs it (`npm run cli -- …` is `tsx cli/main.ts …`),
 * as a separate process against the stack's database, so argument parsing, exit codes and
 * output are what is tested, not only the functions behind them.
 */
describe('admin CLI (npm run cli)', () => {
  let stack: TestStack;
  const cli = (...args: string[]) =>
    new Promise<CliRun>((resolve) => {
      execFile(
        TSX,
        ['cli/main.ts', ...args],
        { cwd: ROOT, env: { ...process.env, DATABASE_URL: stack.db.url } },
        (err, stdout, stderr) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
  const json = <T>(run: CliRun): T => {
    expect(run).toMatchObject({ code: 0 });
    return JSON.parse(run.stdout) as T;
  };

  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('creates an operator with the iGaming template and a working live key, and lists it', async () => {
    const op = json<{ operatorId: string; apiKey: string; templateId: string | null }>(
      await cli('operators', 'create', '--name', 'Acme Casino', '--json'),
    );
    expect(op.operatorId).toMatch(/^op_/);
    expect(op.apiKey).toMatch(/^oh_live_[0-9a-f]{64}$/);
    expect(op.templateId).toBe('tpl_igaming');

    const client = api(stack.baseUrl, op.apiKey);
    const created = await client.post(`${P}/entities`, {
      entityType: 'player',
      externalId: 'p1',
      data: { email: 'p1@example.com' },
    });
    expect(created.status).toBe(201);

    const list = json<{ operatorId: string; name: string; status: string }[]>(
      await cli('operators', 'list', '--json'),
    );
    expect(list).toContainEqual(
      expect.objectContaining({ operatorId: op.operatorId, name: 'Acme Casino', status: 'active' }),
    );
  });

  it('--test --no-template: an oh_test_ key whose data calls answer TEMPLATE_NOT_CONFIGURED', async () => {
    const op = json<{ apiKey: string; templateId: string | null }>(
      await cli('operators', 'create', '--name', 'Sandbox', '--test', '--no-template', '--json'),
    );
    expect(op.apiKey).toMatch(/^oh_test_[0-9a-f]{64}$/);
    expect(op.templateId).toBeNull();
    const res = await api(stack.baseUrl, op.apiKey).post(`${P}/entities`, {
      entityType: 'player',
      externalId: 'p1',
      data: { email: 'p1@example.com' },
    });
    expectError(res, 400, 'TEMPLATE_NOT_CONFIGURED');
  });

  it('keys create / list / revoke, refusing to revoke the last active key', async () => {
    const op = json<{ operatorId: string; apiKey: string; keyId: string }>(
      await cli('operators', 'create', '--name', 'Keys', '--json'),
    );
    const second = json<{ keyId: string; apiKey: string }>(
      await cli('keys', 'create', op.operatorId, '--json'),
    );
    expect(second.apiKey).toMatch(/^oh_live_[0-9a-f]{64}$/);
    expect(second.apiKey).not.toBe(op.apiKey);

    const keys = json<{ keyId: string; revokedAt: string | null }[]>(
      await cli('keys', 'list', op.operatorId, '--json'),
    );
    expect(keys.map((k) => k.keyId).sort()).toEqual([op.keyId, second.keyId].sort());
    expect(keys.every((k) => k.revokedAt === null)).toBe(true);
    // The list never shows a key itself, only its display prefix.
    expect(JSON.stringify(keys)).not.toContain(op.apiKey.slice(8, 40));

    expect(await cli('keys', 'revoke', op.keyId)).toMatchObject({ code: 0 });
    expectError(await api(stack.baseUrl, op.apiKey).get(`${P}/templates`), 401, 'UNAUTHORIZED');

    const last = await cli('keys', 'revoke', second.keyId);
    expect(last.code).toBe(1);
    expect(last.stderr).toContain('last active key');
    expect((await api(stack.baseUrl, second.apiKey).get(`${P}/templates`)).status).toBe(200);

    expect((await cli('keys', 'revoke', 'key_doesnotexist')).code).toBe(1);
  });

  it('operators suspend makes every key answer 401; activate restores them', async () => {
    const op = json<{ operatorId: string; apiKey: string }>(
      await cli('operators', 'create', '--name', 'Suspended', '--json'),
    );
    const client = api(stack.baseUrl, op.apiKey);
    expect(await cli('operators', 'suspend', op.operatorId)).toMatchObject({ code: 0 });
    expectError(await client.get(`${P}/templates`), 401, 'UNAUTHORIZED');
    expect(await cli('operators', 'activate', op.operatorId)).toMatchObject({ code: 0 });
    expect((await client.get(`${P}/templates`)).status).toBe(200);
    expect((await cli('operators', 'suspend', 'op_doesnotexist')).code).toBe(1);
  });

  it('webhooks set stores the endpoint and prints a generated signing secret', async () => {
    const op = json<{ operatorId: string }>(await cli('operators', 'create', '--name', 'Hooks', '--json'));
    const hook = json<{ url: string; secret: string }>(
      await cli('webhooks', 'set', op.operatorId, '--url', 'https://ops.example.com/hooks', '--json'),
    );
    expect(hook.url).toBe('https://ops.example.com/hooks');
    expect(hook.secret).toMatch(/^whsec_/);
  });
});
