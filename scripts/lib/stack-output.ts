import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';

/**
 * What `npm start` prints. Each process's output goes whole to `<logDir>/<process>.log`
 * (truncated when the stack starts); the terminal gets the stack's own messages, warnings and
 * errors as they happen, and a status line kept at the bottom (rewritten in place on a
 * terminal; on a pipe, printed when it changes). Verbose: every line, as it comes.
 */
export interface StackOutput {
  /** One line of a process's output. */
  line(process: string, text: string): void;
  /** A message of the stack itself, for the person at the terminal. */
  say(text: string): void;
  /** Replaces the status line. */
  status(text: string): void;
  close(): Promise<void>;
}

export interface StackOutputOptions {
  logDir: string;
  verbose: boolean;
  /** A terminal: the status line is redrawn in place. */
  tty: boolean;
  write: (text: string) => void;
  columns?: () => number | undefined;
}

/** Per process, at most this many warnings and errors per window on the terminal; the rest are counted. */
const PROBLEMS_PER_WINDOW = 5;
const PROBLEM_WINDOW_MS = 10_000;
/** A terminal line for a problem is cut here; the log file has it whole. */
const MAX_PROBLEM_CHARS = 300;

const PINO_LEVELS: Record<number, string> = { 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
/** Non-JSON lines: Postgres (`WARNING:`, `ERROR:`, `FATAL:`, `PANIC:`), Go's slog (`level=WARN`). */
const TEXT_PROBLEM = /\b(WARNING|ERROR|FATAL|PANIC):|\blevel=(WARN|ERROR)\b|"level":"(warn|error)"/;

/** A warning or error, shortened for the terminal; undefined for anything else. */
export function problemLine(process: string, text: string, maxChars = MAX_PROBLEM_CHARS): string | undefined {
  const cut = (line: string) => (line.length > maxChars ? `${line.slice(0, maxChars - 1)}…` : line);
  if (text.startsWith('{')) {
    try {
      const entry = JSON.parse(text) as Record<string, unknown>;
      const level = typeof entry.level === 'number' ? PINO_LEVELS[entry.level] : undefined;
      if (!level) return undefined;
      const { time, msg, level: _l, pid: _p, hostname: _h, name: _n, ...rest } = entry;
      const when = typeof time === 'string' ? new Date(time).toTimeString().slice(0, 8) : '';
      const fields = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : '';
      return cut(`${when} [${process}] ${level} ${String(msg ?? '')}${fields}`);
    } catch {
      // not JSON after all: judged as text below
    }
  }
  if (!TEXT_PROBLEM.test(text)) return undefined;
  // Go's slog (the Temporal server): time, level, message and the error, without the key soup.
  const slog = /^time=\S*T(\d\d:\d\d:\d\d)\S* level=(\w+) msg="((?:[^"\\]|\\.)*)"/.exec(text);
  if (slog) {
    const error = /\berror="((?:[^"\\]|\\.)*)"/.exec(text)?.[1];
    return cut(`${slog[1]} [${process}] ${slog[2]} ${slog[3]}${error ? ` (error: ${error})` : ''}`);
  }
  return cut(`[${process}] ${text}`);
}

export function createStackOutput(opts: StackOutputOptions): StackOutput {
  mkdirSync(opts.logDir, { recursive: true });
  const files = new Map<string, WriteStream>();
  const file = (name: string) => {
    let stream = files.get(name);
    if (!stream) {
      stream = createWriteStream(path.join(opts.logDir, `${name}.log`), { flags: 'w' });
      files.set(name, stream);
    }
    return stream;
  };
  // A flood (a server overloaded and retrying) must not bury the status line.
  const throttles = new Map<string, { since: number; shown: number; held: number }>();
  const summarise = (now: number) => {
    for (const [name, t] of throttles) {
      if (now - t.since < PROBLEM_WINDOW_MS) continue;
      if (t.held > 0)
        print(`[${name}] … and ${t.held} more warnings/errors: ${path.join(opts.logDir, `${name}.log`)}`);
      throttles.delete(name);
    }
  };
  const problem = (name: string, text: string) => {
    const now = Date.now();
    summarise(now);
    const t = throttles.get(name) ?? { since: now, shown: 0, held: 0 };
    throttles.set(name, t);
    if (t.shown < PROBLEMS_PER_WINDOW) {
      t.shown++;
      print(text);
    } else t.held++;
  };
  let statusText = '';
  let lastPrinted = '';
  const fit = (text: string) => {
    const width = opts.columns?.();
    return width && text.length > width - 1 ? `${text.slice(0, width - 2)}…` : text;
  };
  // On a terminal, other lines go above the status line: clear it, print, redraw it.
  const print = (text: string) => {
    if (opts.tty && statusText) opts.write(`\r\x1b[2K${text}\n${fit(statusText)}`);
    else opts.write(`${text}\n`);
  };
  return {
    line(process, text) {
      file(process).write(`${text}\n`);
      if (opts.verbose) return print(`[${process}] ${text}`);
      // On a terminal, one problem is one screen line.
      const width = opts.tty ? opts.columns?.() : undefined;
      const shown = problemLine(process, text, width ? Math.min(MAX_PROBLEM_CHARS, width - 1) : undefined);
      if (shown) problem(process, shown);
    },
    say: print,
    status(text) {
      if (opts.verbose) return;
      summarise(Date.now());
      statusText = text;
      if (opts.tty) return opts.write(`\r\x1b[2K${fit(text)}`);
      // On a pipe, a line only when something other than the clock changed.
      const withoutTime = text.slice(text.indexOf(' '));
      if (withoutTime !== lastPrinted) opts.write(`${text}\n`);
      lastPrinted = withoutTime;
    },
    async close() {
      // The status line goes first, so that what follows is the last word on the screen.
      if (opts.tty && statusText) opts.write('\r\x1b[2K');
      statusText = '';
      summarise(Number.POSITIVE_INFINITY);
      await Promise.all(
        [...files.values()].map((s) => new Promise<void>((resolve) => s.end(() => resolve()))),
      );
    },
  };
}
