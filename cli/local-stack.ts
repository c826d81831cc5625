import { localDir, readStackFile, type StackInfo } from '../scripts/lib/stack-file';

/**
 * The local stack `npm start` is running, from the file it keeps while it runs (its LOCAL_DIR,
 * as the stack itself reads it); undefined when none runs: a file left by a killed stack
 * describes services that are gone, so its settings are not taken for theirs.
 */
export function runningStack(): StackInfo | undefined {
  return readStackFile(localDir());
}
