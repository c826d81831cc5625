/**
 * Writes every dynamic-config key a Temporal server version defines, one per line, to
 * deploy/temporal/dynamicconfig-keys/<version>.txt, which test/deploy/docker-compose.test.ts
 * checks the compose stack's dynamic config against. Run it after bumping the server image:
 *
 *   npx tsx scripts/list-temporal-dynamic-config-keys.ts 1.32.0
 *
 * It takes the server's source from the Go module proxy (`go mod download`, needs Go) and
 * collects the first argument of every `dynamicconfig.New…Setting(` call, which is how the
 * server declares a key.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const KEYS_DIR = path.join(__dirname, '..', 'deploy', 'temporal', 'dynamicconfig-keys');
const SETTING =
  /\bNew(?:Global|Namespace|NamespaceID|TaskQueue|ShardID|TaskType|Destination)\w*Setting\w*\(\s*"([^"]+)"/g;

async function* goFiles(dir: string): AsyncGenerator<string> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* goFiles(full);
    else if (entry.name.endsWith('.go') && !entry.name.endsWith('_test.go')) yield full;
  }
}

async function main(version: string): Promise<void> {
  const { stdout } = await run('go', ['mod', 'download', '-json', `go.temporal.io/server@v${version}`], {
    maxBuffer: 16 * 1024 * 1024,
    env: { ...process.env, GOFLAGS: '-mod=mod' },
  });
  const { Dir, Sum } = JSON.parse(stdout) as { Dir: string; Sum: string };
  const keys = new Set<string>();
  for await (const file of goFiles(Dir)) {
    for (const match of (await readFile(file, 'utf8')).matchAll(SETTING)) keys.add(match[1]!);
  }
  if (keys.size < 100)
    throw new Error(`only ${keys.size} keys found in ${Dir}: has the declaration changed?`);
  await mkdir(KEYS_DIR, { recursive: true });
  const out = path.join(KEYS_DIR, `${version}.txt`);
  const header = `# Dynamic-config keys of go.temporal.io/server v${version} (${Sum}), from scripts/list-temporal-dynamic-config-keys.ts\n`;
  await writeFile(out, header + [...keys].sort().join('\n') + '\n');
  console.log(`${keys.size} keys -> ${path.relative(process.cwd(), out)}`);
}

if (require.main === module) {
  const version = process.argv[2];
  if (!version || !/^\d+\.\d+\.\d+$/.test(version)) {
    console.error('usage: tsx scripts/list-temporal-dynamic-config-keys.ts <server version, e.g. 1.32.0>');
    process.exit(2);
  }
  main(version).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
