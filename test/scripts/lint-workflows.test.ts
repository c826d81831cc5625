import { execFileSync } from 'node:child_process';
import path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');

interface Sample {
  /** The file the text is linted as (existing files, so the typed lint config applies as in CI). */
  filePath: string;
  text: string;
}

/**
 * Lints each sample with ESLint's Node API and the project's own eslint.config.mjs, in one
 * child process (jest's module sandbox cannot load the ESM config), and answers, per sample,
 * the messages of the workflow-import rule.
 */
function restrictedImports(samples: Sample[]): string[][] {
  const script = `
    import { ESLint } from 'eslint';
    const samples = JSON.parse(await new Promise((r) => { let s = ''; process.stdin.on('data', (d) => (s += d)); process.stdin.on('end', () => r(s)); }));
    const eslint = new ESLint({ cwd: process.cwd() });
    const out = [];
    for (const s of samples) {
      const [result] = await eslint.lintText(s.text, { filePath: s.filePath });
      // A sample that does not parse would be refused for the wrong reason: report it as such.
      const fatal = result.messages.find((m) => m.fatal);
      if (fatal) throw new Error(s.filePath + ': ' + fatal.message);
      out.push(result.messages.filter((m) => m.ruleId?.endsWith('no-restricted-imports')).map((m) => m.message));
    }
    process.stdout.write(JSON.stringify(out));`;
  const stdout = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: ROOT,
    input: JSON.stringify(samples),
    encoding: 'utf8',
  });
  return JSON.parse(stdout) as string[][];
}

const TOP = 'workflows/retention.ts';
const NESTED = 'workflows/definitions/aml-threshold.ts';
const use = (names: string) => `\nexport const used = [${names}];\n`;

describe('the lint rule for imports in workflows/ (eslint.config.mjs)', () => {
  const refused: Array<[string, Sample]> = [
    [
      'the pg pool from a workflow',
      { filePath: TOP, text: `import { pool } from '../core/db/pool';${use('pool')}` },
    ],
    [
      'a type from core/ (only activities/ may lend types)',
      {
        filePath: TOP,
        text: `import type { Queryable } from '../core/db/pool';\nexport type Q = Queryable;\n`,
      },
    ],
    [
      'a value from activities/',
      { filePath: TOP, text: `import { createActivities } from '../activities';${use('createActivities')}` },
    ],
    [
      'a value from activities/ from a nested file',
      {
        filePath: NESTED,
        text: `import { createActivities } from '../../activities';${use('createActivities')}`,
      },
    ],
    [
      'core/ from a nested file',
      { filePath: NESTED, text: `import { config } from '../../core/config';${use('config')}` },
    ],
    [
      'a path that leaves workflows/ through a sibling',
      { filePath: TOP, text: `import { pool } from './definitions/../../core/db/pool';${use('pool')}` },
    ],
    [
      'a Node module',
      { filePath: TOP, text: `import { readFileSync } from 'node:fs';${use('readFileSync')}` },
    ],
    ['a package', { filePath: TOP, text: `import { Pool } from 'pg';${use('Pool')}` }],
    [
      "@temporalio/common's internals",
      {
        filePath: TOP,
        text: `import { historyFromJSON } from '@temporalio/common/lib/proto-utils';${use('historyFromJSON')}`,
      },
    ],
    ['re-exporting from core/', { filePath: TOP, text: `export { pool } from '../core/db/pool';\n` }],
  ];
  const allowed: Array<[string, Sample]> = [
    [
      'the Temporal workflow and common packages',
      {
        filePath: TOP,
        text: `import { sleep } from '@temporalio/workflow';\nimport { SearchAttributeType } from '@temporalio/common';${use('sleep, SearchAttributeType')}`,
      },
    ],
    [
      'sibling and nested workflow files',
      {
        filePath: TOP,
        text: `import { definitionNamed } from './catalog';\nimport { amlThreshold } from './definitions/aml-threshold';${use('definitionNamed, amlThreshold')}`,
      },
    ],
    [
      'workflow files one level up from a nested file',
      {
        filePath: NESTED,
        text: `import { defineDefinition } from '../definition';${use('defineDefinition')}`,
      },
    ],
    [
      'types from activities/',
      {
        filePath: TOP,
        text: `import type { Activities } from '../activities';\nimport type { WebhookMessage } from '../activities/webhooks/activities';\nexport type A = [Activities, WebhookMessage];\n`,
      },
    ],
    [
      'types from activities/ from a nested file',
      {
        filePath: NESTED,
        text: `import type { Activities } from '../../activities';\nexport type A = Activities;\n`,
      },
    ],
  ];

  it('refuses what would break the sandbox, and lets the allowed imports through', () => {
    const results = restrictedImports([...refused, ...allowed].map(([, s]) => s));
    const named = [...refused, ...allowed].map(([name], i) => [name, results[i]!.length > 0] as const);
    expect(named).toEqual([
      ...refused.map(([name]) => [name, true] as const),
      ...allowed.map(([name]) => [name, false] as const),
    ]);
  }, 120_000);
});
