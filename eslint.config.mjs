// Flat config: typescript-eslint recommended plus the two rules that catch real bugs here
// (floating promises) and keep workflows deterministic (restricted imports).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// A path segment that is neither `.` nor `..` (nor any other name starting with a dot).
const SEGMENT = '[^./][^/]*';
const WORKFLOW_IMPORT_MESSAGE =
  'Workflows may import only @temporalio/workflow, @temporalio/common, files inside workflows/ and `import type` from activities/.';

/**
 * Workflows run in Temporal's deterministic sandbox: a file in workflows/ may import
 * @temporalio/workflow, @temporalio/common, relative paths that stay inside workflows/, and
 * types (`import type`) from activities/. A relative path is judged by the importing file's
 * depth, so there is one block per depth: `../x` is inside workflows/ from
 * workflows/definitions/, outside it from workflows/. test/scripts/lint-workflows.test.ts
 * checks both the refusals and the allowed imports.
 */
function workflowImportRules(maxDepth = 3) {
  return Array.from({ length: maxDepth + 1 }, (_, depth) => {
    const up = depth === 0 ? '\\./' : `(?:\\./|(?:\\.\\./){1,${depth}})`;
    const inside = `${up}${SEGMENT}(?:/${SEGMENT})*`;
    const activities = `(?:\\.\\./){${depth + 1}}activities(?:/${SEGMENT})*`;
    return {
      files: [`workflows/${'*/'.repeat(depth)}*.ts`],
      rules: {
        '@typescript-eslint/no-restricted-imports': [
          'error',
          {
            patterns: [
              {
                regex: `^(?!(?:@temporalio/(?:workflow|common)|${inside}|${activities})$)`,
                message: WORKFLOW_IMPORT_MESSAGE,
              },
              { regex: `^${activities}$`, allowTypeImports: true, message: WORKFLOW_IMPORT_MESSAGE },
            ],
          },
        ],
        '@typescript-eslint/consistent-type-imports': 'off',
      },
    };
  });
}

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.local/', '.cache/', 'coverage/', '*.mjs', '*.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Tests read response bodies of many shapes; typing each one would add noise, not safety.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  ...workflowImportRules(),
  {
    // The API process never runs activity code: what both need (signing, provider payloads)
    // lives in core/. Types may still be shared.
    files: ['api/**/*.ts', 'core/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/activities', '**/activities/**'],
              allowTypeImports: true,
              message: 'api/ and core/ must not import activities/ (move shared code to core/).',
            },
          ],
        },
      ],
    },
  },
);
