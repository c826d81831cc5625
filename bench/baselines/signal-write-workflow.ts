import { condition, defineSignal, proxyActivities, setHandler } from '@temporalio/workflow';

/**
 * The signal-and-write floor's workflow: waits for one signal, then runs one activity that
 * writes a row, as a hand-written workflow waiting for a provider's result would.
 */
export const wake = defineSignal<[string]>('wake');

const { writeRow } = proxyActivities<{ writeRow(id: string): Promise<void> }>({
  startToCloseTimeout: '1m',
});

export async function signalledWriteWorkflow(id: string): Promise<void> {
  let woken = false;
  setHandler(wake, () => {
    woken = true;
  });
  await condition(() => woken);
  await writeRow(id);
}
