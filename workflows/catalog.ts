import type { Definition } from './definition';
import { definitions } from './definitions';

const byName = new Map(definitions.map((d) => [d.name, d]));

/**
 * The registered definition called `name`. A name in a plan that this worker does not know
 * (an API already deployed with a new definition, a worker not yet) throws a plain Error,
 * which fails the workflow task rather than the workflow: Temporal retries the task until a
 * worker that knows the definition picks it up, and nothing is skipped.
 */
export function definitionNamed(name: string): Definition {
  const found = byName.get(name);
  if (!found)
    throw new Error(`Definition "${name}" is not registered in this worker (workflows/definitions)`);
  return found;
}
