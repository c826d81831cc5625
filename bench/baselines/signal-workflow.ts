import { condition, defineSignal, setHandler } from '@temporalio/workflow';

/** The signal floor's workflow: waits for one signal, as a hand-written waiting workflow would. */
export const wake = defineSignal<[string]>('wake');

export async function signalledWorkflow(): Promise<void> {
  let woken = false;
  setHandler(wake, () => {
    woken = true;
  });
  await condition(() => woken);
}
