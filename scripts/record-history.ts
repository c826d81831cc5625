import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils';
import { Command, Option } from 'commander';

/**
 * Records the history of a finished workflow as a replay fixture
 * (test/fixtures/histories/<name>.json), which test/workflows/replay.test.ts replays against
 * the current workflow code, so that a non-deterministic change fails CI.
 *
 *   npx tsx scripts/record-history.ts 'entity_event.transaction:eev_…/kyc-on-deposit' --name kyc-on-deposit-rejected
 *
 * The history is kept in the proto-JSON form the Temporal CLI and UI export; the workflow ID
 * is stored next to it because histories do not contain it and workflow code may read it
 * (processEvent derives its webhook message ids from it).
 */
export interface HistoryFixture {
  workflowId: string;
  workflowType: string;
  /** What the workflow was, in a sentence: a reader of a failing replay needs to know. */
  description: string;
  recordedAt: string;
  history: unknown;
}

export const FIXTURES_DIR = path.join(__dirname, '..', 'test', 'fixtures', 'histories');

/** Parses a fixture's history back into the shape `Worker.runReplayHistories` takes. */
export const fixtureHistory = (f: HistoryFixture) => historyFromJSON(f.history);

const STACK_FILE = path.join(__dirname, '..', '.local', 'stack.json');

/** The running local stack's Temporal server, when there is one. */
function localStackAddress(): string | undefined {
  if (!existsSync(STACK_FILE)) return undefined;
  return (JSON.parse(readFileSync(STACK_FILE, 'utf8')) as { temporalAddress?: string }).temporalAddress;
}

async function record(
  workflowId: string,
  o: { address: string; namespace: string; name: string; description: string },
) {
  const connection = await Connection.connect({ address: o.address });
  try {
    const client = new Client({ connection, namespace: o.namespace });
    const handle = client.workflow.getHandle(workflowId);
    const description = await handle.describe();
    if (description.status.name === 'RUNNING')
      throw new Error(`${workflowId} is still running; record a finished workflow`);
    const history = await handle.fetchHistory();
    const fixture: HistoryFixture = {
      workflowId,
      workflowType: description.type,
      description: o.description,
      recordedAt: new Date().toISOString(),
      history: JSON.parse(historyToJSON(history)),
    };
    await mkdir(FIXTURES_DIR, { recursive: true });
    const file = path.join(FIXTURES_DIR, `${o.name}.json`);
    await writeFile(file, JSON.stringify(fixture, null, 2) + '\n');
    console.log(
      `${description.type} ${workflowId} (${history.events?.length ?? 0} events) → ${path.relative(process.cwd(), file)}`,
    );
  } finally {
    await connection.close();
  }
}

if (require.main === module) {
  new Command('record-history')
    .description('Save a finished workflow history as a replay fixture')
    .argument('<workflowId>')
    .requiredOption('--name <name>', 'fixture file name, without .json (kebab-case)')
    .option('--description <text>', 'what this run exercised', '')
    .addOption(
      new Option('--address <host:port>', 'Temporal frontend')
        .env('TEMPORAL_ADDRESS')
        .default(localStackAddress() ?? 'localhost:7233'),
    )
    .addOption(new Option('--namespace <ns>').env('TEMPORAL_NAMESPACE').default('default'))
    .action(
      (workflowId: string, o: { address: string; namespace: string; name: string; description: string }) =>
        record(workflowId, o),
    )
    .parseAsync(process.argv)
    .catch((err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    });
}
