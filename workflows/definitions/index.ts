// Registered workflow definitions: one line per definition. The fan-out workflow runs
// every definition exported here whose trigger and condition match the internal event.
export {};
