/**
 * The matching of shown output (test/support/doc-examples.ts) is strict about shape and field
 * names and tolerant of ids and timestamps: a renamed field fails, a new id passes.
 */
import {
  bindCommand,
  matchOutput,
  pageExamples,
  type Bindings,
  type FencedBlock,
} from '../support/doc-examples';

const json = (body: string): FencedBlock => ({
  file: 'x.md',
  line: 1,
  info: 'json output',
  lang: 'json',
  body,
});
const text = (body: string): FencedBlock => ({
  file: 'x.md',
  line: 1,
  info: 'text output',
  lang: 'text',
  body,
});

describe('shown output', () => {
  it('binds prefixed placeholders and accepts any timestamp', () => {
    const b: Bindings = new Map();
    expect(
      matchOutput(
        json('{"success":true,"data":{"id":"eev_…","at":"2026-11-30T13:40:12.345Z"}}'),
        '{"success":true,"data":{"id":"eev_9f8e7d","at":"2027-01-02T03:04:05.000Z"}}',
        b,
      ),
    ).toEqual([]);
    expect(b.get('eev_…')).toBe('eev_9f8e7d');
    expect(bindCommand('curl -s http://localhost:3000/x/eev_…', b, 'http://127.0.0.1:9')).toBe(
      'curl -s http://127.0.0.1:9/x/eev_9f8e7d',
    );
  });

  it('fails a renamed field, an extra field and a missing one', () => {
    const shown = json('{"success":true,"data":{"id":"eev_…"}}');
    expect(matchOutput(shown, '{"success":true,"data":{"eventId":"eev_1"}}', new Map()).join()).toMatch(
      /field "id" is missing/,
    );
    expect(matchOutput(shown, '{"success":true,"data":{"id":"eev_1","x":1}}', new Map()).join()).toMatch(
      /field "x" is not shown/,
    );
    expect(matchOutput(json('{"a":1,…}'), '{"a":1,"b":2}', new Map())).toEqual([]);
    expect(matchOutput(json('{"a":1,…}'), '{"b":2}', new Map()).join()).toMatch(/field "a" is missing/);
  });

  it('matches arrays with "…" elements in order, and several JSON values one after another', () => {
    expect(
      matchOutput(json('[…,{"n":"b",…},…]'), '[{"n":"a"},{"n":"b","x":1},{"n":"c"}]', new Map()),
    ).toEqual([]);
    expect(matchOutput(json('[{"n":"a"}]'), '[{"n":"a"},{"n":"b"}]', new Map()).join()).toMatch(
      /1 elements, got 2/,
    );
    expect(matchOutput(json('{"a":1}\n{"b":"…"}'), '{"a":1}{"b":"anything"}', new Map())).toEqual([]);
    expect(matchOutput(json('{"a":1}'), '{"a":2}', new Map()).join()).toMatch(/expected 1, got 2/);
  });

  it('compares text line by line, "…" standing for text in a line or for whole lines', () => {
    const b: Bindings = new Map();
    expect(
      matchOutput(
        text('Started redrive:rd_… (resume with --resume rd_…)\n…\ndone'),
        'Started redrive:rd_ab12 (resume with --resume rd_ab12)\n1/2\n2/2\ndone\n',
        b,
      ),
    ).toEqual([]);
    expect(b.get('rd_…')).toBe('rd_ab12');
    expect(matchOutput(text('a\nb'), 'a\nc', new Map())).not.toEqual([]);
  });

  it('refuses a command that uses a placeholder no output showed, and a not-run block without a reason', () => {
    expect(() => bindCommand('curl http://localhost:3000/wep_…', new Map(), 'http://x')).toThrow(/wep_…/);
    expect(() => pageExamples('x.md', '```bash\n# Not run by npm test:\nnpm start\n```\n')).toThrow(
      /needs a reason/,
    );
    expect(
      pageExamples('x.md', '```bash\n# Not run by npm test: needs Docker\ndocker compose up\n```\n')[0]!
        .notRun,
    ).toBe('needs Docker');
  });
});
