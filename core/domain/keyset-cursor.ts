/**
 * The opaque `next_cursor` of keyset-paged lists (events, webhook messages): the last row's
 * position (its sort time as Postgres text, and its id), base64url JSON.
 */
export interface KeysetCursor {
  t: string;
  i: string;
}

export function encodeKeysetCursor(row: { cursor_ts: string; id: string }): string {
  return Buffer.from(JSON.stringify({ t: row.cursor_ts, i: row.id } satisfies KeysetCursor)).toString(
    'base64url',
  );
}

/** The position in `cursor`, or undefined when it is not one this API gave for ids like `idPattern`. */
export function parseKeysetCursor(cursor: string, idPattern: RegExp): KeysetCursor | undefined {
  try {
    const c = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Partial<KeysetCursor>;
    if (
      typeof c.t === 'string' &&
      !Number.isNaN(Date.parse(c.t)) &&
      typeof c.i === 'string' &&
      idPattern.test(c.i)
    )
      return { t: c.t, i: c.i };
  } catch {
    // not base64url JSON: not a cursor
  }
  return undefined;
}
