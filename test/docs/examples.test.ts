/**
 * Every shell example of README.md and docs/ runs here, as a reader would run it, against a
 * real stack (API, worker, Postgres, Temporal, the sandbox KYC provider): one bash session per
 * page, blocks in page order, placeholders bound from the output shown above them, and output
 * compared with the page where the page shows it (conventions: test/support/doc-examples.ts).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../support/cli';
import {
  bindCommand,
  docPages,
  fencedBlocks,
  matchOutput,
  pageExamples,
  untaggedShell,
  type Bindings,
} from '../support/doc-examples';
import { testEnv } from '../support/env';
import { startWorkflowHarness, type WorkflowHarness } from '../support/workflow-harness';

jest.setTimeout(120_000);

const pages = docPages(PROJECT_ROOT).map((file) => ({
  file,
  examples: pageExamples(file, readFileSync(path.join(PROJECT_ROOT, file), 'utf8')),
}));

/** A bash session that keeps its variables between blocks, as a reader's terminal does. */
class Session {
  private bash: ChildProcessWithoutNullStreams;
  private buffer = '';
  private n = 0;
  constructor(
    env: NodeJS.ProcessEnv,
    private dir: string,
  ) {
    // A process group of its own: closing the session ends whatever a block left running.
    this.bash = spawn('bash', ['--noprofile', '--norc'], { cwd: PROJECT_ROOT, env, detached: true });
    this.bash.stdout.on('data', (d: Buffer) => (this.buffer += d.toString()));
    this.bash.stderr.on('data', (d: Buffer) => (this.buffer += d.toString()));
  }
  /** Runs one block in the session; answers its stdout, stderr and how many commands failed. */
  async run(
    script: string,
    timeoutMs = 90_000,
  ): Promise<{ stdout: string; stderr: string; failures: number }> {
    const k = ++this.n;
    const out = path.join(this.dir, `out.${k}`);
    const err = path.join(this.dir, `err.${k}`);
    const marker = `__DOC_BLOCK_DONE_${k}__`;
    this.buffer = '';
    this.bash.stdin.write(
      `__fails=0; trap '__fails=$((__fails+1))' ERR\n{\n${script}\n} >${out} 2>${err} </dev/null\ntrap - ERR; echo "${marker} $__fails"\n`,
    );
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = new RegExp(`${marker} (\\d+)`).exec(this.buffer);
      if (m) {
        return {
          stdout: readFileSync(out, 'utf8'),
          stderr: readFileSync(err, 'utf8'),
          failures: Number(m[1]),
        };
      }
      if (Date.now() > deadline) {
        this.close();
        throw new Error(`block did not finish within ${timeoutMs} ms (the session was ended)`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  close() {
    try {
      process.kill(-this.bash.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

describe('documentation examples', () => {
  let h: WorkflowHarness;
  let env: NodeJS.ProcessEnv;
  let tmp: string;

  beforeAll(async () => {
    h = await startWorkflowHarness();
    tmp = mkdtempSync(path.join(os.tmpdir(), 'doc-examples-'));
    const temporalBin = process.env.TEMPORAL_CLI_PATH ? path.dirname(process.env.TEMPORAL_CLI_PATH) : '';
    env = {
      ...process.env,
      // What the CLI would find in .local/stack.json next to a running `npm start`: here, the
      // test stack (and no stack file, so a developer's running stack is never touched).
      LOCAL_DIR: tmp,
      DATABASE_URL: h.stack.db.url,
      TEMPORAL_ADDRESS: testEnv().temporalAddress,
      TEMPORAL_NAMESPACE: testEnv().namespace,
      TEMPORAL_TASK_QUEUE: h.stack.taskQueue,
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
      PATH: [temporalBin, path.join(PROJECT_ROOT, 'node_modules', '.bin'), process.env.PATH]
        .filter(Boolean)
        .join(':'),
      npm_config_update_notifier: 'false',
      npm_config_loglevel: 'warn',
    };
  });
  afterAll(async () => {
    await h?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('has no shell block outside the convention (untagged, or output without a shell block)', () => {
    const untagged = docPages(PROJECT_ROOT).flatMap((file) =>
      untaggedShell(fencedBlocks(file, readFileSync(path.join(PROJECT_ROOT, file), 'utf8'))).map(
        (b) => `${b.file}:${b.line}`,
      ),
    );
    expect(untagged).toEqual([]);
    expect(pages.reduce((n, p) => n + p.examples.filter((e) => !e.notRun).length, 0)).toBeGreaterThan(20);
  });

  for (const page of pages.filter((p) => p.examples.some((e) => !e.notRun))) {
    describe(page.file, () => {
      let session: Session;
      const bindings: Bindings = new Map();
      let broken: string | undefined;
      beforeAll(() => {
        session = new Session(env, tmp);
      });
      afterAll(() => session?.close());

      for (const ex of page.examples.filter((e) => !e.notRun)) {
        const firstLine = ex.block.body.split('\n').find((l) => l.trim() && !l.startsWith('#')) ?? '';
        it(`${page.file}:${ex.block.line} ${firstLine.slice(0, 70)}`, async () => {
          // A reader stuck at one block cannot follow the rest of the page either.
          if (broken) throw new Error(`an earlier block of this page failed (${broken})`);
          let stdout = '';
          let stderr = '';
          try {
            const script = bindCommand(ex.block.body, bindings, h.stack.baseUrl);
            const run = await session.run(script);
            ({ stdout, stderr } = run);
            const { failures } = run;
            // DOC_EXAMPLES_DUMP=<dir>: each block's real output, to write a page's output blocks from.
            if (process.env.DOC_EXAMPLES_DUMP) {
              mkdirSync(process.env.DOC_EXAMPLES_DUMP, { recursive: true });
              const name = `${page.file.replace(/[\\/]/g, '_')}-${ex.block.line}`;
              writeFileSync(
                path.join(process.env.DOC_EXAMPLES_DUMP, `${name}.out`),
                `${stdout}\n--- stderr\n${stderr}`,
              );
            }
            if (failures > 0) {
              throw new Error(`${failures} command(s) failed.\nstdout:\n${stdout}\nstderr:\n${stderr}`);
            }
          } catch (err) {
            broken = `${page.file}:${ex.block.line}`;
            throw err;
          }
          // Output that departs from the page fails this block only: later blocks still run,
          // and fail on their own if they needed an id this output should have shown.
          if (ex.output) {
            const problems = matchOutput(ex.output, stdout, bindings);
            if (problems.length > 0) {
              throw new Error(
                `output departs from ${page.file}:${ex.output.line}:\n${problems.join('\n')}\n(stderr: ${stderr.slice(0, 500)})`,
              );
            }
          }
        });
      }
    });
  }
});
