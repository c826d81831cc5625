/**
 * docs/authors/tutorial.md, steps 1–3, as a developer follows them: the definition and the test
 * exactly as the page shows them, type-checked with the project's settings, the definition
 * registered (the API plans with it, the worker's bundle runs it) and the page's own test run
 * here against a real API, worker, Postgres and Temporal. Edit the page and this follows it.
 */
import { compileAndBundleTutorial, prepareTutorial } from '../support/doc-tutorial';
import { definitions } from '../../workflows/definitions';

const NAME = 'big-win-alert';

// Step 2 of the page: the API's registry holds the page's definition (the worker's bundle is
// built with the same registry below).
jest.mock('../../workflows/definitions', () => {
  const { prepareTutorial: prepare } = jest.requireActual('../support/doc-tutorial');
  const actual = jest.requireActual('../../workflows/definitions');
  const page = jest.requireActual(prepare('big-win-alert').definitionFile);
  return { ...actual, definitions: [...actual.definitions, ...Object.values(page)] };
});
// The workers of this file load the bundle holding the page's definition.
jest.mock('../support/env', () => {
  const { prepareTutorial: prepare } = jest.requireActual('../support/doc-tutorial');
  return { ...jest.requireActual('../support/env'), WORKFLOW_BUNDLE: prepare('big-win-alert').bundleFile };
});

jest.setTimeout(180_000);

const tutorial = prepareTutorial(NAME);

// Its own timeout: the page's test sets jest's default when it loads (below).
beforeAll(() => compileAndBundleTutorial(tutorial), 300_000);

test('the page registers its definition in the catalogue the API plans with', () => {
  expect(definitions.map((d) => d.name)).toContain(NAME);
});

// The page's own test (step 3), as it shows it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
require(tutorial.testFile);
