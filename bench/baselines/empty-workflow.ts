/** The floor's workflow: does nothing, so its cost is Temporal's own cost of one workflow. */
export async function emptyWorkflow(): Promise<void> {}
