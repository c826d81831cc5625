/**
 * The authors' tutorial (docs/authors/tutorial.md) as code: its blocks marked ```ts file=<path>
 * are written, as the page shows them, to <path> inside a scratch tree (.local/doc-tutorial/…),
 * with re-exporting shims for every project module they import, so their relative imports
 * resolve to the project's own code. test/docs/tutorial*.test.ts type-check them, register the
 * page's definition (step 2 of the page) and run the page's own test against it with a real worker.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from './cli';
import { fencedBlocks } from './doc-examples';

export const TUTORIAL_PAGE = 'docs/authors/tutorial.md';

export interface Tutorial {
  /** The scratch tree's root. */
  dir: string;
  /** The page's definition file in the scratch tree. */
  definitionFile: string;
  /** The page's test of it in the scratch tree. */
  testFile: string;
  /** A registry: the project's definitions plus the page's (what step 2 of the page does). */
  registryFile: string;
  /** A tsconfig that type-checks the page's files with the project's settings. */
  tsconfig: string;
  /** Where the workflow bundle with the page's definition goes. */
  bundleFile: string;
}

const prepared = new Map<string, Tutorial>();

/** The page's files for one definition (e.g. `big-win-alert`), written out once per process. */
export function prepareTutorial(name: string): Tutorial {
  const known = prepared.get(name);
  if (known) return known;
  const page = readFileSync(path.join(PROJECT_ROOT, TUTORIAL_PAGE), 'utf8');
  const files = new Map<string, string>();
  for (const b of fencedBlocks(TUTORIAL_PAGE, page)) {
    const m = /(?:^|\s)file=(\S+)/.exec(b.info);
    if (m) files.set(m[1]!, `${b.body}\n`);
  }
  const definitionPath = `workflows/definitions/${name}.ts`;
  const testPath = `test/workflows/${name}.test.ts`;
  for (const p of [definitionPath, testPath]) {
    if (!files.has(p)) throw new Error(`${TUTORIAL_PAGE} has no block marked file=${p}`);
  }

  const dir = path.join(PROJECT_ROOT, '.local', 'doc-tutorial', name);
  rmSync(dir, { recursive: true, force: true });
  const write = (rel: string, text: string) => {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), text);
  };
  const pageFiles = [definitionPath, testPath];
  for (const p of pageFiles) write(p, files.get(p)!);

  // Each relative import of the page's files that is not one of them is a project module: a
  // shim at the same place in the scratch tree re-exports the project's own.
  for (const p of pageFiles) {
    for (const m of files.get(p)!.matchAll(/from '(\.{1,2}\/[^']+)'/g)) {
      const target = path.normalize(path.join(path.dirname(p), m[1]!));
      if (pageFiles.some((f) => f.replace(/\.ts$/, '') === target)) continue;
      const real = path.relative(path.dirname(path.join(dir, target)), path.join(PROJECT_ROOT, target));
      write(`${target}.ts`, `export * from '${real}';\n`);
    }
  }

  const registryFile = path.join(dir, 'registry.ts');
  writeFileSync(
    registryFile,
    [
      `// Step 2 of ${TUTORIAL_PAGE}: the project's definitions, then the page's.`,
      `import { definitions as builtIn } from '${path.join(PROJECT_ROOT, 'workflows', 'definitions', 'index')}';`,
      `import type { Definition } from '${path.join(PROJECT_ROOT, 'workflows', 'definition')}';`,
      `import * as page from './${definitionPath.replace(/\.ts$/, '')}';`,
      `export * from '${path.join(PROJECT_ROOT, 'workflows', 'definitions', 'index')}';`,
      `export const definitions: readonly Definition[] = [...builtIn, ...(Object.values(page) as Definition[])];`,
      '',
    ].join('\n'),
  );

  const tsconfig = path.join(dir, 'tsconfig.json');
  writeFileSync(
    tsconfig,
    JSON.stringify(
      {
        extends: path.relative(dir, path.join(PROJECT_ROOT, 'tsconfig.json')),
        compilerOptions: { noEmit: true, rootDir: path.relative(dir, PROJECT_ROOT) },
        include: [...pageFiles, 'registry.ts'],
        exclude: [],
      },
      null,
      2,
    ),
  );
  const t: Tutorial = {
    dir,
    definitionFile: path.join(dir, definitionPath),
    testFile: path.join(dir, testPath),
    registryFile,
    tsconfig,
    bundleFile: path.join(dir, 'workflow-bundle.js'),
  };
  prepared.set(name, t);
  return t;
}

/**
 * What a developer does before running the page's test: compiles the page's code as the project
 * compiles (tsconfig.json: strict; a page whose code does not type-check fails here, naming the
 * file and line in the scratch tree), then builds the worker's bundle with it.
 */
export async function compileAndBundleTutorial(t: Tutorial): Promise<void> {
  try {
    execFileSync(path.join(PROJECT_ROOT, 'node_modules', '.bin', 'tsc'), ['-p', t.tsconfig], {
      cwd: PROJECT_ROOT,
      stdio: 'pipe',
    });
  } catch (err) {
    throw new Error(`the page's code does not compile:\n${String((err as { stdout?: Buffer }).stdout)}`);
  }
  await buildTutorialBundle(t);
}

/**
 * The worker's workflow bundle with the page's definition registered: the project's workflows,
 * the registry (`./definitions` as `workflows/catalog.ts` imports it) swapped for the tutorial's.
 * Built in a process of its own (as jest's global set-up builds the usual one): webpack inside a
 * jest sandbox is slow and cannot outlive the test file.
 */
export function buildTutorialBundle(t: Tutorial): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      path.join(PROJECT_ROOT, 'node_modules', '.bin', 'tsx'),
      [__filename, t.registryFile, t.bundleFile],
      { cwd: PROJECT_ROOT },
      (err, _stdout, stderr) => (err ? reject(new Error(`bundle failed: ${stderr}`)) : resolve()),
    );
  });
}

async function bundle(registryFile: string, outFile: string): Promise<void> {
  const { bundleWorkflowCode } = await import('@temporalio/worker');
  // webpack is @temporalio/worker's own bundler; the plugin swaps one module for another.
  const { NormalModuleReplacementPlugin } = (await import('webpack')).default;
  const workflowsDir = path.join(PROJECT_ROOT, 'workflows');
  const quiet = { trace() {}, debug() {}, info() {}, log() {}, warn: console.warn, error: console.error };
  let swapped = false;
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve(workflowsDir),
    logger: quiet,
    webpackConfigHook: (config) => {
      config.plugins = [
        ...(config.plugins ?? []),
        new NormalModuleReplacementPlugin(
          /^\.\/definitions$/,
          (resource: { context: string; request: string }) => {
            if (path.normalize(resource.context) === workflowsDir) {
              resource.request = registryFile;
              swapped = true;
            }
          },
        ),
      ];
      return config;
    },
  });
  if (!swapped)
    throw new Error('workflows/catalog.ts no longer imports ./definitions: the registry was not swapped');
  writeFileSync(outFile, code);
}

if (require.main === module) {
  bundle(process.argv[2]!, process.argv[3]!).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
