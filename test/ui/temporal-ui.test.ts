import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { browserTestEnv, testEnv } from '../support/env';
import { newOperator, newPlayer } from '../support/operators';
import { startStack, type TestStack } from '../support/stack';
import { eventually, recordEvent } from '../support/workflow-harness';

jest.setTimeout(60_000);

const SCREENSHOT = path.join(__dirname, '..', '..', '.local', 'screenshots', 'temporal-ui-search.png');
const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
];

describe('Temporal Web UI, as ops staff use it', () => {
  let stack: TestStack;
  let browser: Browser;

  beforeAll(async () => {
    // First, so a missing browser or UI fails here with its own message, before any set-up.
    const { chromiumPath } = browserTestEnv();
    browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: CHROMIUM_ARGS });
    stack = await startStack({ worker: true });
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it("lists a player's workflows, and only theirs, when searched by EntityExternalId, and one definition's runs by Definitions", async () => {
    const { uiUrl } = browserTestEnv();
    const { namespace } = testEnv();
    const op = await newOperator(stack.db.pool, stack.baseUrl);
    const suffix = randomBytes(4).toString('hex');
    const [externalId, otherId] = [`ui_player_${suffix}`, `ui_other_${suffix}`];
    const deposit = { type: 'deposit', amount: 25, currency: 'GBP' };
    await newPlayer(op.client, externalId);
    await newPlayer(op.client, otherId);
    const ev = await recordEvent(op.client, externalId, 'transaction', deposit);
    const other = await recordEvent(op.client, otherId, 'transaction', deposit);
    const query = `EntityExternalId = '${externalId}'`;
    // The UI reads the same visibility store: once the client's list sees both, so can the page.
    const listed = async (q: string, workflowId: string) => {
      for await (const wf of stack.temporal.workflow.list({ query: q }))
        if (wf.workflowId === workflowId) return true;
      return undefined;
    };
    await eventually(() => listed(query, ev.fanoutId));
    await eventually(() => listed(`EntityExternalId = '${otherId}'`, other.fanoutId));

    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    try {
      await page.goto(`${uiUrl}/namespaces/${namespace}/workflows?query=${encodeURIComponent(query)}`);
      const row = page.getByRole('link', { name: ev.fanoutId, exact: true });
      await row.waitFor({ state: 'visible', timeout: 20_000 });
      expect(await row.count()).toBe(1);
      // The UI took the query as its filter (shown as a chip), so the other player's is absent.
      await expect(page.getByText(`EntityExternalId = "${externalId}"`).isVisible()).resolves.toBe(true);
      expect(await page.getByText(other.fanoutId).count()).toBe(0);
      await mkdir(path.dirname(SCREENSHOT), { recursive: true });
      await page.screenshot({ path: SCREENSHOT });

      // Every run of one definition for this operator: both deposits planned kyc-on-deposit.
      const byDefinition = `Definitions = 'kyc-on-deposit' AND OperatorId = '${op.operatorId}'`;
      await eventually(() => listed(byDefinition, other.fanoutId));
      await page.goto(`${uiUrl}/namespaces/${namespace}/workflows?query=${encodeURIComponent(byDefinition)}`);
      for (const id of [ev.fanoutId, other.fanoutId]) {
        await page
          .getByRole('link', { name: id, exact: true })
          .waitFor({ state: 'visible', timeout: 20_000 });
      }
      await page.screenshot({ path: SCREENSHOT.replace('search', 'definitions') });
    } finally {
      await page.close();
    }
  });
});
