/**
 * Temporal-style duration strings (`30d`, `72h`, `20m`, `20s`, `1h30m`) for the deadlines and
 * timers operators set in `PUT /workflows`. Pure, so both the API (validation) and workflow
 * code (timers) use this one parser.
 */
const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000 } as const;
const DURATION = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

/** The shortest deadline or timer an operator may set: shorter ones would race the retries of their own steps. */
export const MIN_DURATION_MS = 10_000;
/** The longest: a year, well inside Temporal's timer range, and past any regulatory window we model. */
export const MAX_DURATION_MS = 366 * UNIT_MS.d;

/** Milliseconds, or undefined when `text` is not a duration (an empty string is not). */
export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text);
  if (!m || text === '') return undefined;
  const [, d, h, min, s] = m;
  return (
    Number(d ?? 0) * UNIT_MS.d +
    Number(h ?? 0) * UNIT_MS.h +
    Number(min ?? 0) * UNIT_MS.m +
    Number(s ?? 0) * UNIT_MS.s
  );
}

/** Like parseDuration, for values already validated (settings, constants): a bad one is a bug. */
export function durationMs(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new Error(`not a duration: "${text}"`);
  return ms;
}
