import { z } from 'zod';
import { MAX_DURATION_MS, MIN_DURATION_MS, parseDuration } from '../workflows/duration';

/**
 * A deadline or timer length as operators and the environment write it: a Temporal-style
 * duration (`30d`, `72h`, `90m`, `20s`, `1d12h`), at least 10 seconds and at most a year.
 * workflows/duration.ts parses it; the same parser then sets the durable timer.
 */
export const DurationString = z.string().refine(
  (text) => {
    const ms = parseDuration(text);
    return ms !== undefined && ms >= MIN_DURATION_MS && ms <= MAX_DURATION_MS;
  },
  { error: 'a duration such as 30d, 72h, 90m or 20s (days, hours, minutes, seconds), from 10s to 366d' },
);
