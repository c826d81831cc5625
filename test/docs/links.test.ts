/**
 * The documentation's relative links and anchors lead somewhere, every page says who it is for,
 * and the README stays a front door.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../support/cli';
import { brokenLinks, docPages } from '../support/doc-examples';

const read = (file: string) => readFileSync(path.join(PROJECT_ROOT, file), 'utf8');

describe('documentation pages', () => {
  const pages = docPages(PROJECT_ROOT);

  it.each(pages)('%s: every relative link and anchor resolves', (file) => {
    expect(brokenLinks(PROJECT_ROOT, file)).toEqual([]);
  });

  it('the README is a front door of at most about 150 lines, keeping the two commands', () => {
    const readme = read('README.md');
    expect(readme.split('\n').length).toBeLessThanOrEqual(160);
    // .ci/run calls "the README's test command": it must still be there, word for word.
    expect(readme).toContain('npm ci && npm start');
    expect(readme).toContain('npm ci && npm test');
  });

  it.each(pages.filter((p) => p !== 'README.md'))(
    '%s starts by saying who it is for and what it answers',
    (file) => {
      const head = read(file).split('\n').slice(0, 12).join('\n');
      expect(head).toMatch(/\*\*For\b[^*]*\*\*/);
      expect(head).toMatch(/\*\*Answers\b[^*]*\*\*/);
    },
  );

  it('every docs page is reachable from the README in at most two clicks', () => {
    const linksOf = (file: string): string[] =>
      [...read(file).matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)]
        .map((m) => m[1]!)
        .filter((t) => !/^[a-z]+:/i.test(t) && t.endsWith('.md'))
        .map((t) => path.normalize(path.join(path.dirname(file), t)));
    const one = new Set(linksOf('README.md'));
    const two = new Set([...one, ...[...one].flatMap((f) => linksOf(f))]);
    expect(pages.filter((p) => p !== 'README.md' && !two.has(p))).toEqual([]);
  });
});
