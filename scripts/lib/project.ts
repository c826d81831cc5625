import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * Walks up to the directory holding package.json, so the same code finds the repo root
 * whether it runs from `scripts/lib` under tsx or from `dist/scripts/lib` after a build.
 */
function findProjectRoot(start: string): string {
  let dir = start;
  for (;;) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`No package.json found above ${start}`);
    dir = parent;
  }
}

export const PROJECT_ROOT = findProjectRoot(__dirname);

/** The project's own tsx, so child processes never depend on a global install. */
export const TSX_BIN = path.join(PROJECT_ROOT, 'node_modules', '.bin', 'tsx');

export const JEST_BIN = path.join(PROJECT_ROOT, 'node_modules', '.bin', 'jest');
