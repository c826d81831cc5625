import { newEventId } from '../../core/ids';

/** Event ids name their month (core/ids.ts): the events table's months cannot check each other's ids. */
describe('event ids', () => {
  it('keep the contract shape, eev_ and 16 lowercase hex', () => {
    for (let i = 0; i < 1000; i++) expect(newEventId()).toMatch(/^eev_[0-9a-f]{16}$/);
  });

  it('carry the month of issue in the first byte, so ids of different months never equal', () => {
    const dec = newEventId(new Date('2026-12-31T23:59:59.999Z'));
    const jan = newEventId(new Date('2027-01-01T00:00:00.000Z'));
    expect(dec.slice(4, 6)).toBe(((2026 * 12 + 11) % 256).toString(16).padStart(2, '0'));
    expect(jan.slice(4, 6)).toBe(((2027 * 12 + 0) % 256).toString(16).padStart(2, '0'));
    expect(dec.slice(4, 6)).not.toBe(jan.slice(4, 6));
    // Every month of 21 years gets its own byte.
    const bytes = new Set(
      Array.from({ length: 256 }, (_, m) => newEventId(new Date(Date.UTC(2026, m, 15))).slice(4, 6)),
    );
    expect(bytes.size).toBe(256);
  });

  it('are random after the month byte', () => {
    const now = new Date('2026-12-03T12:00:00Z');
    const ids = new Set(Array.from({ length: 10_000 }, () => newEventId(now).slice(6)));
    expect(ids.size).toBe(10_000);
  });
});
