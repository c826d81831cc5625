import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Runs a Dockerfile's stages as plain folders, for machines without a Docker engine: each
 * stage is a directory standing for its filesystem root, COPY copies (honouring
 * .dockerignore), RUN runs `/bin/sh -c` there with the Node that runs this code, ENV sets
 * variables for later steps and for the entry points. The base image is not there: what the
 * steps need from it is Node and npm, taken from this machine. USER, EXPOSE and COPY --chown
 * change nothing here (the steps run as the current user). Any other instruction stops it, so
 * the Dockerfile cannot grow a step this check silently skips.
 */
export interface Stage {
  name: string;
  /** The directory standing for the stage's `/`. */
  root: string;
  /** WORKDIR, as a path on this machine. */
  workdir: string;
  env: Record<string, string>;
  /** CMD in exec form, if the stage has one. */
  cmd?: string[];
}

interface Instruction {
  op: string;
  args: string;
}

export function parseDockerfile(text: string): Instruction[] {
  const logical = text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ');
  return logical
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const [, op = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
      return { op: op.toUpperCase(), args };
    });
}

/** A .dockerignore pattern as a regular expression over context-relative paths. */
function ignorePattern(pattern: string): RegExp {
  const body = pattern
    .replace(/^\/+|\/+$/g, '')
    .split('')
    .map((c) => (c === '*' ? '[^/]*' : c === '?' ? '[^/]' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('')
    .replace(/\[\^\/\]\*\[\^\/\]\*/g, '.*');
  // A pattern that matches a directory excludes everything under it.
  return new RegExp(`^${body}(/.*)?$`);
}

function dockerignore(context: string): (rel: string) => boolean {
  const file = path.join(context, '.dockerignore');
  if (!existsSync(file)) return () => false;
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  if (lines.some((l) => l.startsWith('!')))
    throw new Error('.dockerignore exceptions (!) are not supported here');
  const patterns = lines.map(ignorePattern);
  return (rel) => patterns.some((p) => p.test(rel));
}

/** Env for build steps: this machine's, minus what npm sets for the `npm test` running us. */
function buildEnv(stageEnv: Record<string, string>): NodeJS.ProcessEnv {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key) && key !== 'INIT_CWD'),
  );
  return {
    ...inherited,
    PATH: [path.dirname(process.execPath), process.env.PATH ?? ''].join(path.delimiter),
    ...stageEnv,
  };
}

async function copy(
  args: string,
  stage: Stage,
  stages: Map<string, Stage>,
  context: string,
  ignored: (rel: string) => boolean,
): Promise<void> {
  const words = args.split(/\s+/);
  const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
  const unknownFlag = words.find((w) => w.startsWith('--') && !/^--(from|chown)=/.test(w));
  if (unknownFlag) throw new Error(`COPY ${unknownFlag} is not supported here`);
  const paths = words.filter((w) => !w.startsWith('--'));
  const dest = paths.pop();
  if (!dest || paths.length === 0) throw new Error(`COPY needs a source and a destination: ${args}`);
  const source = from ? stages.get(from) : undefined;
  if (from && !source) throw new Error(`COPY --from=${from}: no such stage`);
  const destPath = path.isAbsolute(dest) ? path.join(stage.root, dest) : path.join(stage.workdir, dest);
  const intoDir = dest.endsWith('/') || paths.length > 1;
  for (const src of paths) {
    const srcPath = source
      ? path.isAbsolute(src)
        ? path.join(source.root, src)
        : path.join(source.workdir, src)
      : path.join(context, src);
    const isDir = (await stat(srcPath)).isDirectory();
    const target = intoDir && !isDir ? path.join(destPath, path.basename(src)) : destPath;
    await mkdir(path.dirname(target), { recursive: true });
    await cp(srcPath, target, {
      recursive: true,
      verbatimSymlinks: true,
      filter: (p) => Boolean(source) || !ignored(path.relative(context, p)),
    });
  }
}

/** Runs every stage of `dockerfile` (context: its directory) under `outDir`; answers the stages in order. */
export async function buildDockerfileStages(
  dockerfile: string,
  outDir: string,
  log: (line: string) => void = () => undefined,
): Promise<Stage[]> {
  const context = path.dirname(dockerfile);
  const ignored = dockerignore(context);
  const stages = new Map<string, Stage>();
  let stage: Stage | undefined;
  for (const { op, args } of parseDockerfile(readFileSync(dockerfile, 'utf8'))) {
    if (op === 'FROM') {
      const name = /\bAS\s+(\S+)/i.exec(args)?.[1] ?? `stage${stages.size}`;
      const root = path.join(outDir, name);
      stage = { name, root, workdir: root, env: {} };
      stages.set(name, stage);
      await mkdir(root, { recursive: true });
      continue;
    }
    if (!stage) throw new Error(`${op} before FROM`);
    const current: Stage = stage;
    log(`[${current.name}] ${op} ${args}`);
    switch (op) {
      case 'WORKDIR':
        current.workdir = path.isAbsolute(args)
          ? path.join(current.root, args)
          : path.join(current.workdir, args);
        await mkdir(current.workdir, { recursive: true });
        break;
      case 'ENV':
        for (const [, key, value] of args.matchAll(/(\w+)=("[^"]*"|\S+)/g)) {
          current.env[key!] = value!.replace(/^"|"$/g, '');
        }
        break;
      case 'COPY':
        await copy(args, current, stages, context, ignored);
        break;
      case 'RUN':
        if (args.startsWith('[')) throw new Error('RUN in exec form is not supported here');
        await run('/bin/sh', ['-c', args], {
          cwd: current.workdir,
          env: buildEnv(current.env),
          maxBuffer: 64 * 1024 * 1024,
          timeout: 900_000,
        }).catch((err: { stdout?: string; stderr?: string; message: string }) => {
          throw new Error(`RUN ${args} failed: ${err.message}\n${err.stdout ?? ''}\n${err.stderr ?? ''}`);
        });
        break;
      case 'CMD':
        current.cmd = JSON.parse(args) as string[];
        break;
      case 'USER':
      case 'EXPOSE':
        break;
      default:
        throw new Error(`Dockerfile instruction ${op} is not supported by this check`);
    }
  }
  return [...stages.values()];
}
