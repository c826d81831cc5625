import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startStack, type TestStack } from '../support/stack';
import { P, api } from '../support/http';
import { expectError } from '../support/expect';
import { runCli, type CliRun } from '../support/cli';
import { providerSignatureHeaders } from '../../core/security/provider-signatures';

/**
 * The admin CLI exactly as a newcomer runs it (`npm run cli -- …` is `tsx cli/main.ts …`),
 * as a separate process against the stack's database, so argument parsing, exit codes and
 * output are what is tested, not only the functions behind them.
 */
describe('admin CLI (npm run cli)', () => {
  let stack: TestStack;
  /** `env` on top of this process's: e.g. LOCAL_DIR, where the CLI looks for a running stack. */
  const cliIn = (env: NodeJS.ProcessEnv, ...args: string[]) =>
    runCli(args, { DATABASE_URL: stack.db.url, ...env });
  const cli = (...args: string[]) => cliIn({}, ...args);
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

  it('webhooks add, list, disable, rotate-secret and remove manage several endpoints; list never prints a secret', async () => {
    const op = json<{ operatorId: string }>(
      await cli('operators', 'create', '--name', 'Endpoints', '--json'),
    );
    const set = json<{ id: string; secret: string }>(
      await cli('webhooks', 'set', op.operatorId, '--url', 'https://a.example.com/h', '--json'),
    );
    const added = json<{ id: string; secret: string; eventFilter: string[] }>(
      await cli(
        'webhooks',
        'add',
        op.operatorId,
        '--url',
        'https://b.example.com/h',
        '--events',
        'entity_event.*, entity.*',
        '--description',
        'Risk',
        '--json',
      ),
    );
    expect(added.eventFilter).toEqual(['entity_event.*', 'entity.*']);
    expect(added.secret).toMatch(/^whsec_/);

    const listed = await cli('webhooks', 'list', op.operatorId);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(set.id);
    expect(listed.stdout).toContain(added.id);
    expect(listed.stdout).not.toContain(added.secret);
    expect(listed.stdout).not.toContain(set.secret);

    expect((await cli('webhooks', 'disable', op.operatorId, added.id)).stdout).toContain('disabled');
    expect((await cli('webhooks', 'rotate-secret', op.operatorId, added.id)).code).toBe(1);
    await cli('webhooks', 'enable', op.operatorId, added.id);
    const rotated = json<{ secret: string; previousSecretExpiresAt: string }>(
      await cli('webhooks', 'rotate-secret', op.operatorId, added.id, '--json'),
    );
    expect(rotated.secret).not.toBe(added.secret);
    expect(Date.parse(rotated.previousSecretExpiresAt) - Date.now()).toBeGreaterThan(23 * 3_600_000);

    expect((await cli('webhooks', 'remove', op.operatorId, added.id)).code).toBe(0);
    expect((await cli('webhooks', 'remove', op.operatorId, added.id)).code).toBe(1);
    const after = json<Array<{ id: string }>>(await cli('webhooks', 'list', op.operatorId, '--json'));
    expect(after.map((e) => e.id)).toEqual([set.id]);
    expect(JSON.stringify(after)).not.toContain('whsec_');
  });

  it('providers connect / list / rotate / deliveries / remove: the webhook secret printed once, credentials never; the API verifies with what the CLI sealed', async () => {
    const op = json<{ operatorId: string }>(
      await cli('operators', 'create', '--name', 'KYC Casino', '--json'),
    );
    const created = json<{ id: string; webhookPath: string; webhookSecret: string }>(
      await cli(
        'providers',
        'connect',
        op.operatorId,
        '--provider',
        'sumsub',
        '--app-token',
        'sbx:cli-app-token-41',
        '--secret-key',
        'cli-secret-key-41',
        '--json',
      ),
    );
    expect(created.id).toMatch(/^pcn_[0-9a-f]{16}$/);
    expect(created.webhookSecret.length).toBeGreaterThanOrEqual(32);
    const body = JSON.stringify({
      type: 'applicantReviewed',
      applicantId: 'a1',
      externalUserId: 'p1',
      reviewResult: { reviewAnswer: 'GREEN' },
      createdAtMs: '2026-12-01 10:00:00.000',
    });
    const delivered = await fetch(stack.baseUrl + created.webhookPath, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        ...providerSignatureHeaders('sumsub', created.webhookSecret, body),
      },
      body,
    });
    expect(delivered.status).toBe(200);
    const list = await cli('providers', 'list', op.operatorId);
    const rotated = await cli(
      'providers',
      'rotate',
      op.operatorId,
      created.id,
      '--app-token',
      'sbx:cli-app-token-42',
      '--secret-key',
      'cli-secret-key-42',
    );
    const deliveries = await cli('providers', 'deliveries', op.operatorId);
    for (const run of [list, rotated, deliveries]) {
      expect(run.code).toBe(0);
      for (const secret of [
        created.webhookSecret,
        'cli-secret-key-41',
        'sbx:cli-app-token-41',
        'cli-secret-key-42',
      ])
        expect(run.stdout + run.stderr).not.toContain(secret);
    }
    expect(list.stdout).toContain(`${created.id}  sumsub`);
    // Stored (the signature held), and ignored: no check of applicant a1 was created here.
    expect(deliveries.stdout).toMatch(/applicantReviewed\s+a1\s+approved\s+ignored\s+unknown_check/);
    const twice = await cli('providers', 'connect', op.operatorId, '--provider', 'sandbox', '--api-key', 'k');
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain('already has a provider connection');
    const badFlags = await cli(
      'providers',
      'connect',
      op.operatorId,
      '--provider',
      'onfido',
      '--app-token',
      'x',
    );
    expect(badFlags).toMatchObject({ code: 1, stderr: expect.stringContaining('onfido needs --api-token') });
    expect((await cli('providers', 'remove', op.operatorId, created.id)).code).toBe(0);
    expect((await cli('providers', 'list', op.operatorId)).stdout).toContain('No KYC provider connection');
  });

  it('operators set-rate-limit: a number limits the operator, unlimited lifts it, default restores the default', async () => {
    const op = json<{ operatorId: string; apiKey: string }>(
      await cli('operators', 'create', '--name', 'Limited', '--json'),
    );
    const client = api(stack.baseUrl, op.apiKey);
    const set = json<{ rateLimit: { perMinute: number | null; source: string } }>(
      await cli('operators', 'set-rate-limit', op.operatorId, '3', '--json'),
    );
    expect(set.rateLimit).toMatchObject({ perMinute: 3, source: 'operator' });
    // Stay inside one one-minute window for the rest of this test.
    const windowLeft = 60_000 - (Date.now() % 60_000);
    if (windowLeft < 15_000) await new Promise((r) => setTimeout(r, windowLeft + 50));
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await client.get(`${P}/templates`)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const limited = await client.get(`${P}/templates`);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('ratelimit-policy')).toBe('3;w=60');

    // Raised within the same window: admitted again at once, under the new policy.
    expect(await cli('operators', 'set-rate-limit', op.operatorId, '100')).toMatchObject({ code: 0 });
    const raised = await client.get(`${P}/templates`);
    expect(raised.status).toBe(200);
    expect(raised.headers.get('ratelimit-policy')).toBe('100;w=60');

    const unlimited = await cli('operators', 'set-rate-limit', op.operatorId, 'unlimited');
    expect(unlimited).toMatchObject({ code: 0 });
    expect(unlimited.stdout).toContain('unlimited');
    const free = await client.get(`${P}/templates`);
    expect(free.status).toBe(200);
    expect(free.headers.get('ratelimit-policy')).toBeNull();

    const reset = await cli('operators', 'set-rate-limit', op.operatorId, 'default');
    expect(reset).toMatchObject({ code: 0 });
    expect(reset.stdout).toContain(`${stack.config.RATE_LIMIT_PER_MINUTE} requests per minute (the default`);
    expect((await client.get(`${P}/templates`)).headers.get('ratelimit-policy')).toBe(
      `${stack.config.RATE_LIMIT_PER_MINUTE};w=60`,
    );
    const { rows } = await stack.db.pool.query<{ rate_limit_per_minute: number | null }>(
      'select rate_limit_per_minute from operators where id = $1',
      [op.operatorId],
    );
    expect(rows[0]!.rate_limit_per_minute).toBeNull();
  });

  it('operators set-rate-limit refuses a value that is not a limit, and an unknown operator', async () => {
    const op = json<{ operatorId: string }>(await cli('operators', 'create', '--name', 'Typo', '--json'));
    for (const bad of ['0', '-5', '12.5', 'lots', '9999999999']) {
      const run = await cli('operators', 'set-rate-limit', op.operatorId, bad);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`"${bad}" is not a rate limit`);
    }
    const unknown = await cli('operators', 'set-rate-limit', 'op_doesnotexist', '10');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('No operator op_doesnotexist');
    const show = json<{ rateLimit: { perMinute: number | null } }>(
      await cli('operators', 'show', op.operatorId, '--json'),
    );
    expect(show.rateLimit.perMinute).toBeNull();
  });

  it('operators show lists settings, limit, keys and webhook endpoints, and never a secret', async () => {
    const op = json<{ operatorId: string; apiKey: string; keyId: string }>(
      await cli('operators', 'create', '--name', 'Shown', '--json'),
    );
    const second = json<{ keyId: string; apiKey: string }>(
      await cli('keys', 'create', op.operatorId, '--json'),
    );
    await cli('keys', 'revoke', op.keyId);
    const hook = json<{ id: string; secret: string }>(
      await cli(
        'webhooks',
        'set',
        op.operatorId,
        '--url',
        'https://ops.example.com/hooks',
        '--events',
        'entity_event.*',
        '--json',
      ),
    );
    await cli('operators', 'set-rate-limit', op.operatorId, '250');
    const settings = await api(stack.baseUrl, second.apiKey).put(`${P}/settings`, {
      retentionPolicy: { entity_events: { hot_days: 30, archive_days: 365 } },
    });
    expect(settings.status).toBe(200);

    const run = await cli('operators', 'show', op.operatorId, '--json');
    const shown = json<Record<string, unknown>>(run);
    expect(shown).toEqual({
      operatorId: op.operatorId,
      name: 'Shown',
      mode: 'live',
      status: 'active',
      createdAt: expect.any(String),
      templateId: 'tpl_igaming',
      dataRetentionDays: null,
      retentionPolicy: { entity_events: { hot_days: 30, archive_days: 365 } },
      rateLimit: { perMinute: 250, effectivePerMinute: 250, source: 'operator' },
      keys: [
        {
          keyId: op.keyId,
          prefix: expect.any(String),
          createdAt: expect.any(String),
          revokedAt: expect.any(String),
        },
        { keyId: second.keyId, prefix: expect.any(String), createdAt: expect.any(String), revokedAt: null },
      ],
      webhook: { url: 'https://ops.example.com/hooks', eventFilter: ['entity_event.*'] },
      webhookEndpoints: [
        {
          id: hook.id,
          url: 'https://ops.example.com/hooks',
          description: '',
          eventFilter: ['entity_event.*'],
          enabled: true,
          disabledReason: null,
          failingSince: null,
          shorthand: true,
          rateLimitPerSecond: null,
        },
      ],
    });

    const text = await cli('operators', 'show', op.operatorId);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('rate limit:  250 requests per minute (set for this operator)');
    expect(text.stdout).toContain(
      `${hook.id}  enabled  https://ops.example.com/hooks  alerts + entity_event.*  (PUT /webhooks)`,
    );
    expect(text.stdout).toContain(`${second.keyId}  `);
    for (const out of [run.stdout, text.stdout]) {
      expect(out).not.toContain(hook.secret);
      expect(out).not.toContain(second.apiKey.slice(8, 40));
      expect(out).not.toContain(op.apiKey.slice(8, 40));
    }
    expect((await cli('operators', 'show', 'op_doesnotexist')).code).toBe(1);
  });

  it('operators show lists every webhook endpoint, not only the shorthand one: disabled ones with the reason', async () => {
    const op = json<{ operatorId: string }>(await cli('operators', 'create', '--name', 'Many', '--json'));
    const set = json<{ id: string; secret: string }>(
      await cli('webhooks', 'set', op.operatorId, '--url', 'https://a.example.com/h', '--json'),
    );
    const add = async (url: string, ...more: string[]) =>
      json<{ id: string; secret: string }>(
        await cli('webhooks', 'add', op.operatorId, '--url', url, ...more, '--json'),
      );
    const risk = await add(
      'https://b.example.com/h',
      '--events',
      'entity_event.*',
      '--description',
      'Risk team',
    );
    const paused = await add('https://c.example.com/h', '--disabled');
    const failing = await add('https://d.example.com/h');
    // As the worker's auto-disable leaves it (core/db/webhook-health.ts).
    await stack.db.pool.query(
      `update webhook_endpoints set enabled = false, disabled_reason = 'failing',
              failing_since = '2026-11-20T10:00:00Z' where id = $1`,
      [failing.id],
    );

    const shown = json<{ webhookEndpoints: Array<Record<string, unknown>> }>(
      await cli('operators', 'show', op.operatorId, '--json'),
    );
    expect(shown.webhookEndpoints.map((e) => [e.id, e.enabled, e.disabledReason, e.shorthand])).toEqual([
      [set.id, true, null, true],
      [risk.id, true, null, false],
      [paused.id, false, null, false],
      [failing.id, false, 'failing', false],
    ]);
    const text = await cli('operators', 'show', op.operatorId);
    const lines = text.stdout.split('\n');
    const lineOf = (id: string) => lines.find((l) => l.includes(id));
    expect(lineOf(set.id)).toContain('enabled  https://a.example.com/h  alerts only  (PUT /webhooks)');
    expect(lineOf(risk.id)).toContain('enabled  https://b.example.com/h  alerts + entity_event.*  Risk team');
    expect(lineOf(paused.id)).toContain('disabled  https://c.example.com/h');
    expect(lineOf(failing.id)).toContain(
      'disabled automatically (failing since 2026-11-20T10:00:00.000Z; messages kept as failed)',
    );
    for (const e of [set, risk, paused, failing]) expect(text.stdout).not.toContain(e.secret);
  });

  describe('WEBHOOK_ALLOW_PRIVATE_NETWORKS', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'cli-local-stack-'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });
    /** What `npm start` leaves in its LOCAL_DIR while it runs (scripts/lib/stack-file.ts). */
    const runningStack = (pid: number, webhookAllowPrivateNetworks: boolean) =>
      writeFile(path.join(dir, 'stack.json'), JSON.stringify({ pid, webhookAllowPrivateNetworks }));
    const withOwnSetting = (value?: string) => ({
      LOCAL_DIR: dir,
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: value,
    });

    it("is read from the running local stack unless the CLI's own environment sets it", async () => {
      const op = json<{ operatorId: string }>(await cli('operators', 'create', '--name', 'Local', '--json'));
      const local = (env: NodeJS.ProcessEnv, command: 'add' | 'set') =>
        cliIn(env, 'webhooks', command, op.operatorId, '--url', 'http://127.0.0.1:9/hooks');
      const codes = async (env: NodeJS.ProcessEnv) => [
        (await local(env, 'add')).code,
        (await local(env, 'set')).code,
      ];
      // execFile's env drops undefined values: the CLI sees the variable unset.
      const unset = withOwnSetting();

      expect(await codes(unset)).toEqual([1, 1]); // no stack running: refused
      await runningStack(process.pid, true);
      expect(await codes(unset)).toEqual([0, 0]);
      expect(await codes(withOwnSetting('false'))).toEqual([1, 1]);
      const refused = await local(withOwnSetting('false'), 'add');
      expect(refused.stderr).toContain('--url');

      await runningStack(process.pid, false);
      expect(await codes(unset)).toEqual([1, 1]);
      expect(await codes(withOwnSetting('true'))).toEqual([0, 0]);

      // A file left by a stack that no longer runs says nothing about the services.
      const gone = spawnSync(process.execPath, ['-e', '']).pid;
      await runningStack(gone, true);
      expect(await codes(unset)).toEqual([1, 1]);
    });
  });
});
