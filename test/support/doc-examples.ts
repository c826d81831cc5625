/**
 * The documentation's examples as tests (test/docs/): finds the fenced blocks of README.md and
 * docs/, matches shown output against real output, and binds placeholders as a reader would.
 *
 * The conventions, also stated in docs/CONTRIBUTING-DOCS.md:
 * - A ```bash (or sh, shell) block is run, in one bash session per page, in page order.
 * - One whose first line is `# Not run by npm test: <reason>` is not run (the reason is required).
 * - A block whose info string holds the word `output` (```json output, ```text output) is the
 *   expected stdout of the bash block before it. `…` stands for what varies: `"eev_…"` is any
 *   id with that prefix, a bare `…` in a string any text, `…` as a value any value, `…` as an
 *   object member "other fields", `…` as an array element "other elements". Everything else is
 *   exact: field names, the fields of an object without `…`, numbers, strings. ISO timestamps
 *   match any ISO timestamp. Text output compares line by line, a line `…` being any lines.
 * - A placeholder with a prefix (`op_…`, `oh_live_…`, `eev_…`) seen in matched output binds to
 *   what it matched (the latest match wins); a later command that holds it gets that value, as
 *   a reader pastes the id printed above. A command that names a placeholder never shown is an error.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

export const ELLIPSIS = '…';

export interface FencedBlock {
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  info: string;
  lang: string;
  body: string;
}

export interface DocExample {
  block: FencedBlock;
  /** Why it is not run, if it is not. */
  notRun?: string;
  /** The output block that follows it, if any. */
  output?: FencedBlock;
}

const SHELL_LANGS = new Set(['bash', 'sh', 'shell']);
const NOT_RUN = /^#\s*Not run by npm test:\s*(.*)$/i;

/** Every Markdown page the tests cover: README.md and docs/ (recursively). */
export function docPages(root: string): string[] {
  const out = ['README.md'];
  const walk = (dir: string) => {
    for (const name of readdirSync(path.join(root, dir)).sort()) {
      const rel = path.join(dir, name);
      if (statSync(path.join(root, rel)).isDirectory()) walk(rel);
      else if (name.endsWith('.md')) out.push(rel);
    }
  };
  walk('docs');
  return out;
}

/** The fenced blocks of a Markdown text (``` or ~~~ fences, at any indentation). */
export function fencedBlocks(file: string, text: string): FencedBlock[] {
  const lines = text.split('\n');
  const blocks: FencedBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const [, indent, fence, info] = open;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const l = lines[j]!;
      if (l.trim().startsWith(fence!) && l.trim().replace(/[`~]/g, '') === '') break;
      body.push(l.startsWith(indent!) ? l.slice(indent!.length) : l.trimStart());
    }
    const infoText = info!.trim();
    blocks.push({
      file,
      line: i + 1,
      info: infoText,
      lang: infoText.split(/\s+/)[0] ?? '',
      body: body.join('\n'),
    });
    i = j;
  }
  return blocks;
}

export const isShell = (b: FencedBlock) => SHELL_LANGS.has(b.lang);
export const isOutput = (b: FencedBlock) => b.info.split(/\s+/).includes('output');

/** A page's shell examples, each with its expected output and whether it runs. */
export function pageExamples(file: string, text: string): DocExample[] {
  const blocks = fencedBlocks(file, text);
  const examples: DocExample[] = [];
  blocks.forEach((block, i) => {
    if (isOutput(block)) {
      const prev = examples[examples.length - 1];
      if (!prev || blocks[i - 1] !== prev.block) {
        throw new Error(`${file}:${block.line}: an output block must follow a shell block`);
      }
      prev.output = block;
      return;
    }
    if (!isShell(block)) return;
    const first = block.body.split('\n')[0] ?? '';
    const m = NOT_RUN.exec(first);
    if (m && !m[1]!.trim()) throw new Error(`${file}:${block.line}: "Not run by npm test" needs a reason`);
    examples.push({ block, notRun: m ? m[1]!.trim() : undefined });
  });
  return examples;
}

/**
 * Blocks that look like shell but are not tagged as such, so they would escape the tests:
 * untagged or text blocks whose lines start with a command the pages use.
 */
export function untaggedShell(blocks: FencedBlock[]): FencedBlock[] {
  return blocks.filter(
    (b) =>
      (b.lang === '' || b.lang === 'text' || b.lang === 'console') &&
      !isOutput(b) &&
      /^(\$ )?(npm|npx|curl|temporal|export) /m.test(b.body),
  );
}

// ---------------------------------------------------------------------------------------------
// Placeholders

/** `op_…`, `oh_live_…`, `eev_…`: an id prefix ending in `_`, then the ellipsis. */
const PLACEHOLDER = /[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*_…/g;
// Ids, and the base64 of secrets (`whsec_…`).
const ID_CHARS = '[A-Za-z0-9_+/=-]+';

export type Bindings = Map<string, string>;

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A regular expression for a shown string with `…`, and the placeholders it binds, in order. */
function patternOf(shown: string): { re: RegExp; names: string[] } {
  const names: string[] = [];
  let src = '';
  let last = 0;
  const re = new RegExp(`${PLACEHOLDER.source}|…`, 'g');
  for (const m of shown.matchAll(re)) {
    src += escapeRe(shown.slice(last, m.index));
    if (m[0] === ELLIPSIS) {
      src += '([\\s\\S]*?)';
      names.push('');
    } else {
      src += `(${escapeRe(m[0].slice(0, -1))}${ID_CHARS})`;
      names.push(m[0]);
    }
    last = m.index + m[0].length;
  }
  src += escapeRe(shown.slice(last));
  return { re: new RegExp(`^${src}$`), names };
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Does an actual string match a shown one? Binds its placeholders into `into` when it does. */
export function matchString(shown: string, actual: string, into: Bindings): boolean {
  if (!shown.includes(ELLIPSIS)) {
    if (ISO_TIME.test(shown)) return ISO_TIME.test(actual);
    return shown === actual;
  }
  const { re, names } = patternOf(shown);
  const m = re.exec(actual);
  if (!m) return false;
  names.forEach((name, i) => {
    if (name) into.set(name, m[i + 1]!);
  });
  return true;
}

/**
 * A command as the reader runs it: placeholders replaced by what they bound to, and the local
 * stack's address by the test stack's.
 */
export function bindCommand(command: string, bindings: Bindings, baseUrl: string): string {
  const unbound = new Set<string>();
  const bound = command.replace(PLACEHOLDER, (p) => {
    const v = bindings.get(p);
    if (v === undefined) unbound.add(p);
    return v ?? p;
  });
  if (unbound.size > 0) {
    throw new Error(`placeholder ${[...unbound].join(', ')} used before any output on the page showed it`);
  }
  return bound.replaceAll('http://localhost:3000', baseUrl);
}

// ---------------------------------------------------------------------------------------------
// JSON with `…`

const ANY = Symbol('any value');
const REST = Symbol('other members or elements');
type Shown = null | boolean | number | string | typeof ANY | Shown[] | ShownObject;
interface ShownObject {
  [REST]?: true;
  fields: Record<string, Shown>;
  isObject: true;
}
type ShownArray = Array<Shown | typeof REST>;

/** Parses JSON that may hold `…` (see the file comment); several values may follow each other. */
export function parseShownJson(text: string): Shown[] {
  let i = 0;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const fail = (what: string): never => {
    throw new Error(`shown JSON: ${what} at offset ${i}: ${JSON.stringify(text.slice(i, i + 30))}`);
  };
  const str = (): string => {
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    if (i >= text.length) fail('unterminated string');
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (): Shown | typeof REST => {
    ws();
    const c = text[i];
    if (c === ELLIPSIS) {
      i++;
      return REST;
    }
    if (c === '{') {
      i++;
      const obj: ShownObject = { fields: {}, isObject: true };
      ws();
      if (text[i] === '}') {
        i++;
        return obj as unknown as Shown;
      }
      for (;;) {
        ws();
        if (text[i] === ELLIPSIS) {
          i++;
          obj[REST] = true;
        } else {
          if (text[i] !== '"') fail('expected a field name');
          const key = str();
          ws();
          if (text[i] !== ':') fail('expected ":"');
          i++;
          const v = value();
          obj.fields[key] = v === REST ? ANY : v;
        }
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return obj as unknown as Shown;
        }
        fail('expected "," or "}"');
      }
    }
    if (c === '[') {
      i++;
      const arr: ShownArray = [];
      ws();
      if (text[i] === ']') {
        i++;
        return arr as Shown;
      }
      for (;;) {
        arr.push(value());
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return arr as Shown;
        }
        fail('expected "," or "]"');
      }
    }
    if (c === '"') return str();
    const lit = /^(-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i));
    if (!lit) return fail('unexpected character');
    i += lit[0].length;
    return JSON.parse(lit[0]) as Shown;
  };
  const out: Shown[] = [];
  ws();
  while (i < text.length) {
    const v = value();
    out.push(v === REST ? ANY : v);
    ws();
  }
  return out;
}

/** Parses stdout holding one or more JSON values one after another (curl -s prints no newline). */
export function parseJsonStream(text: string): unknown[] {
  const shown = parseShownJson(text);
  const plain = (v: Shown): unknown => {
    if (v === ANY) throw new Error('actual output holds "…"');
    if (Array.isArray(v)) return v.map((e) => plain(e as Shown));
    if (v && typeof v === 'object') {
      const o = v as ShownObject;
      return Object.fromEntries(Object.entries(o.fields).map(([k, x]) => [k, plain(x)]));
    }
    return v;
  };
  return shown.map(plain);
}

const describe = (v: unknown) => {
  const s = JSON.stringify(v);
  return s && s.length > 80 ? `${s.slice(0, 77)}...` : s;
};

/** Where an actual JSON value departs from the shown one (empty: it matches). Binds placeholders. */
export function matchJson(shown: Shown, actual: unknown, into: Bindings, at = '$'): string[] {
  if (shown === ANY) return [];
  if (Array.isArray(shown)) {
    if (!Array.isArray(actual)) return [`${at}: expected an array, got ${describe(actual)}`];
    return matchSequence(shown as ShownArray, actual, into, at);
  }
  if (shown !== null && typeof shown === 'object') {
    const o = shown as ShownObject;
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) {
      return [`${at}: expected an object, got ${describe(actual)}`];
    }
    const a = actual as Record<string, unknown>;
    const errors: string[] = [];
    for (const [k, v] of Object.entries(o.fields)) {
      if (!(k in a)) errors.push(`${at}: field "${k}" is missing (fields: ${Object.keys(a).join(', ')})`);
      else errors.push(...matchJson(v, a[k], into, `${at}.${k}`));
    }
    if (!o[REST]) {
      for (const k of Object.keys(a)) {
        if (!(k in o.fields))
          errors.push(`${at}: field "${k}" is not shown (add it, or "…" for other fields)`);
      }
    }
    return errors;
  }
  if (typeof shown === 'string') {
    if (typeof actual !== 'string')
      return [`${at}: expected a string like ${describe(shown)}, got ${describe(actual)}`];
    return matchString(shown, actual, into)
      ? []
      : [`${at}: expected ${describe(shown)}, got ${describe(actual)}`];
  }
  return Object.is(shown, actual) ? [] : [`${at}: expected ${describe(shown)}, got ${describe(actual)}`];
}

/** An array whose `…` elements stand for any number of elements: backtracking, arrays are short. */
function matchSequence(shown: ShownArray, actual: unknown[], into: Bindings, at: string): string[] {
  const fixed = shown.filter((s) => s !== REST).length;
  if (!shown.includes(REST) && shown.length !== actual.length) {
    return [`${at}: expected ${shown.length} elements, got ${actual.length}`];
  }
  if (actual.length < fixed) return [`${at}: expected at least ${fixed} elements, got ${actual.length}`];
  const go = (si: number, ai: number, b: Bindings): Bindings | undefined => {
    if (si === shown.length) return ai === actual.length ? b : undefined;
    const s = shown[si]!;
    if (s === REST) {
      for (let k = ai; k <= actual.length; k++) {
        const r = go(si + 1, k, b);
        if (r) return r;
      }
      return undefined;
    }
    if (ai >= actual.length) return undefined;
    const trial = new Map(b);
    if (matchJson(s, actual[ai], trial, `${at}[${ai}]`).length > 0) return undefined;
    return go(si + 1, ai + 1, trial);
  };
  const found = go(0, 0, new Map(into));
  if (found) {
    for (const [k, v] of found) into.set(k, v);
    return [];
  }
  if (!shown.includes(REST)) {
    // Same length: say which element departs.
    return shown.flatMap((s, k) => matchJson(s as Shown, actual[k], into, `${at}[${k}]`));
  }
  return [`${at}: no way to match the shown elements in order against ${describe(actual)}`];
}

/** Drops npm's banner (`> pkg@1.0.0 cli` / `> tsx cli/main.ts …`) that `npm run` prints first. */
export function withoutNpmBanner(stdout: string): string {
  // npm prints "\n> name@version script\n> command\n\n" before each script's own output.
  return stdout.replace(/(^|\n)\n?> \S+@\S+ \S+\n> [^\n]*\n\n?/g, '$1').replace(/^\n+/, '');
}

/** Compares a shell block's stdout with its shown output block. Empty: it matches. */
export function matchOutput(output: FencedBlock, stdout: string, into: Bindings): string[] {
  const actual = withoutNpmBanner(stdout);
  if (output.lang === 'json') {
    const shown = parseShownJson(output.body);
    let values: unknown[];
    try {
      values = parseJsonStream(actual);
    } catch (err) {
      return [`the output is not JSON (${(err as Error).message}): ${actual.slice(0, 300)}`];
    }
    if (values.length !== shown.length) {
      return [`expected ${shown.length} JSON value(s), got ${values.length}: ${actual.slice(0, 300)}`];
    }
    return shown.flatMap((s, k) => matchJson(s, values[k], into, shown.length > 1 ? `#${k + 1}` : '$'));
  }
  return matchLines(output.body.split('\n'), actual.replace(/\n+$/, '').split('\n'), into);
}

function matchLines(shown: string[], actual: string[], into: Bindings): string[] {
  const go = (si: number, ai: number, b: Bindings): Bindings | undefined => {
    if (si === shown.length) return ai === actual.length ? b : undefined;
    if (shown[si]!.trim() === ELLIPSIS) {
      for (let k = ai; k <= actual.length; k++) {
        const r = go(si + 1, k, b);
        if (r) return r;
      }
      return undefined;
    }
    if (ai >= actual.length) return undefined;
    const trial = new Map(b);
    return matchString(shown[si]!.trimEnd(), actual[ai]!.trimEnd(), trial)
      ? go(si + 1, ai + 1, trial)
      : undefined;
  };
  const found = go(0, 0, new Map(into));
  if (!found)
    return [
      `the output does not match the page:\n--- shown\n${shown.join('\n')}\n--- actual\n${actual.join('\n')}`,
    ];
  for (const [k, v] of found) into.set(k, v);
  return [];
}

// ---------------------------------------------------------------------------------------------
// Links

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
export function headingAnchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  let inFence = false;
  for (const line of text.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) inFence = !inFence;
    if (inFence) continue;
    const h = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!h) continue;
    const base = h[1]!
      .replace(/`/g, '')
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  for (const m of text.matchAll(/<a (?:name|id)="([^"]+)"/g)) anchors.add(m[1]!);
  return anchors;
}

/** Relative links and anchors of one page that lead nowhere. */
export function brokenLinks(root: string, file: string): string[] {
  const text = readFileSync(path.join(root, file), 'utf8');
  const prose = text.replace(/^\s*(```|~~~)[\s\S]*?^\s*\1\s*$/gm, '');
  const problems: string[] = [];
  for (const m of prose.matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
    const target = m[1]!;
    if (/^[a-z]+:/i.test(target)) continue;
    const [p, anchor] = target.split('#') as [string, string | undefined];
    const dest = p ? path.normalize(path.join(path.dirname(file), p)) : file;
    let destText: string;
    try {
      const st = statSync(path.join(root, dest));
      if (st.isDirectory()) {
        if (anchor) problems.push(`${target}: an anchor into a directory`);
        continue;
      }
      destText = readFileSync(path.join(root, dest), 'utf8');
    } catch {
      problems.push(`${target}: no file ${dest}`);
      continue;
    }
    if (anchor && !headingAnchors(destText).has(decodeURIComponent(anchor))) {
      problems.push(`${target}: no heading #${anchor} in ${dest}`);
    }
  }
  return problems;
}
