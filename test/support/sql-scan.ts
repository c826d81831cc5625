import path from 'node:path';
import ts from 'typescript';
import { loadModule, parseSync } from 'libpg-query';

/**
 * Finds every SQL statement the service sends (the first argument of each `.query(...)` call in
 * the runtime folders), rebuilt from its source with the constants it interpolates, and judges
 * with PostgreSQL's own parser (libpg-query) whether each use of an operator-scoped table is
 * bound to one operator: the precondition for distributing those tables by `operator_id`
 * (docs/SCALING.md, "Past one primary"). What cannot be rebuilt (a parameter, a computed
 * fragment) becomes the identifier `__dyn`, so the statement still parses; a conditional gives
 * one variant per branch.
 */

/** Tables that would be distributed by operator_id (docs/SCALING.md lists the reference tables). */
export const OPERATOR_SCOPED_TABLES = [
  'events',
  'events_archive',
  'entities',
  'entity_states',
  'fanout_outbox',
  'entity_waits',
  'wait_signals',
  'cancelled_waits',
  'kyc_checks',
  'idempotency_keys',
  'provider_webhook_inbox',
  'webhook_messages',
  'webhook_attempts',
  'batch_jobs',
  'rate_limit_windows',
  'redrives',
] as const;

export interface SqlSite {
  /** Path relative to the project root. */
  file: string;
  line: number;
  /** The enclosing named function (or `<module>`), the stable key allowances are given by. */
  fn: string;
  variants: string[];
}

export interface Finding {
  site: SqlSite;
  /** What is wrong, e.g. `events (alias e) not filtered by operator_id`. */
  problem: string;
}

const DYN = '__dyn';
const MAX_VARIANTS = 8;

/** Every `.query(...)` call's SQL in the given files. */
export function collectSqlSites(root: string, files: string[]): SqlSite[] {
  const program = ts.createProgram(
    files.map((f) => path.join(root, f)),
    {
      allowJs: false,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.CommonJS,
      esModuleInterop: true,
    },
  );
  const checker = program.getTypeChecker();
  const sites: SqlSite[] = [];
  for (const rel of files) {
    const sf = program.getSourceFile(path.join(root, rel));
    if (!sf) throw new Error(`not in the program: ${rel}`);
    const visit = (node: ts.Node): void => {
      if (
        ts.isCallExpression(node) &&
        ts.isPropertyAccessExpression(node.expression) &&
        node.expression.name.text === 'query' &&
        node.arguments.length > 0
      ) {
        const arg = sqlArgument(node.arguments[0]!);
        if (arg) {
          const variants = evaluate(arg, checker, 0).filter((v) =>
            /\b(select|insert|update|delete)\b/i.test(v),
          );
          if (variants.length > 0) {
            sites.push({
              file: rel,
              line: sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1,
              fn: enclosingName(node),
              variants,
            });
          }
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return sites;
}

/** `query(sql, …)` or `query({ text: sql, … })`. */
function sqlArgument(arg: ts.Expression): ts.Expression | undefined {
  if (ts.isObjectLiteralExpression(arg)) {
    const text = arg.properties.find(
      (p): p is ts.PropertyAssignment => ts.isPropertyAssignment(p) && p.name.getText() === 'text',
    );
    return text?.initializer;
  }
  return arg;
}

function enclosingName(node: ts.Node): string {
  for (let n: ts.Node | undefined = node.parent; n; n = n.parent) {
    if ((ts.isFunctionDeclaration(n) || ts.isMethodDeclaration(n)) && n.name) return n.name.getText();
    if ((ts.isArrowFunction(n) || ts.isFunctionExpression(n)) && ts.isVariableDeclaration(n.parent)) {
      return n.parent.name.getText();
    }
  }
  return '<module>';
}

function cross(parts: string[][]): string[] {
  let out = [''];
  for (const options of parts) {
    out = out.flatMap((prefix) => options.map((o) => prefix + o)).slice(0, MAX_VARIANTS);
  }
  return out;
}

type Bindings = Map<ts.Symbol, string[]>;

/** The texts an expression can take; DYN where it cannot be known from the source. */
function evaluate(
  expr: ts.Expression,
  checker: ts.TypeChecker,
  depth: number,
  env: Bindings = new Map(),
): string[] {
  if (depth > 20) return [DYN];
  const again = (e: ts.Expression, scope: Bindings = env) => evaluate(e, checker, depth + 1, scope);
  if (ts.isStringLiteral(expr) || ts.isNoSubstitutionTemplateLiteral(expr)) return [expr.text];
  if (ts.isNumericLiteral(expr)) return [expr.text];
  if (ts.isTemplateExpression(expr)) {
    const parts: string[][] = [[expr.head.text]];
    for (const span of expr.templateSpans) parts.push(again(span.expression), [span.literal.text]);
    return cross(parts);
  }
  if (ts.isParenthesizedExpression(expr) || ts.isAsExpression(expr) || ts.isSatisfiesExpression(expr)) {
    return again(expr.expression);
  }
  if (ts.isBinaryExpression(expr) && expr.operatorToken.kind === ts.SyntaxKind.PlusToken) {
    return cross([again(expr.left), again(expr.right)]);
  }
  if (ts.isConditionalExpression(expr))
    return [...again(expr.whenTrue), ...again(expr.whenFalse)].slice(0, MAX_VARIANTS);
  if (
    ts.isCallExpression(expr) &&
    ts.isPropertyAccessExpression(expr.expression) &&
    expr.expression.name.text === 'join' &&
    ts.isArrayLiteralExpression(expr.expression.expression)
  ) {
    const sep = expr.arguments[0] ? again(expr.arguments[0])[0]! : ',';
    const items = expr.expression.expression.elements.map((e) => again(e)[0]!);
    return [items.join(sep)];
  }
  if (ts.isCallExpression(expr) && ts.isIdentifier(expr.expression)) {
    // A helper that only returns SQL (`const branch = (table) => \`…${table}…\``): inlined
    // with its arguments bound, as a reader of the statement would.
    const fn = returnedExpression(expr.expression, checker);
    if (fn) {
      const scope: Bindings = new Map(env);
      fn.params.forEach((p, i) => {
        const sym = checker.getSymbolAtLocation(p.name);
        const arg = expr.arguments[i];
        if (sym) scope.set(sym, arg ? again(arg) : [DYN]);
      });
      return again(fn.body, scope);
    }
  }
  if (ts.isIdentifier(expr)) {
    const sym = checker.getSymbolAtLocation(expr);
    const bound = sym && env.get(sym);
    if (bound) return bound;
  }
  if (ts.isIdentifier(expr) || ts.isPropertyAccessExpression(expr)) {
    const init = constantInitializer(expr, checker);
    return init ? again(init) : [DYN];
  }
  return [DYN];
}

/** A function (declaration or const arrow) whose body is one returned expression. */
function returnedExpression(
  name: ts.Identifier,
  checker: ts.TypeChecker,
): { params: readonly ts.ParameterDeclaration[]; body: ts.Expression } | undefined {
  let symbol = checker.getSymbolAtLocation(name);
  if (symbol && symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
  const decl = symbol?.valueDeclaration;
  let fn: ts.SignatureDeclaration | undefined;
  if (decl && ts.isFunctionDeclaration(decl)) fn = decl;
  if (decl && ts.isVariableDeclaration(decl) && decl.initializer && ts.isArrowFunction(decl.initializer)) {
    fn = decl.initializer;
  }
  if (!fn) return undefined;
  const body = (fn as ts.FunctionDeclaration | ts.ArrowFunction).body;
  if (!body) return undefined;
  if (!ts.isBlock(body)) return { params: fn.parameters, body };
  const only = body.statements.length === 1 ? body.statements[0] : undefined;
  if (only && ts.isReturnStatement(only) && only.expression)
    return { params: fn.parameters, body: only.expression };
  return undefined;
}

/** The initializer of a `const` (or of a property in a const object literal) an expression names. */
function constantInitializer(expr: ts.Identifier | ts.PropertyAccessExpression, checker: ts.TypeChecker) {
  let symbol = checker.getSymbolAtLocation(ts.isIdentifier(expr) ? expr : expr.name);
  if (symbol && symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
  const decl = symbol?.valueDeclaration;
  if (!decl) return undefined;
  if (ts.isVariableDeclaration(decl) && decl.initializer) {
    const list = decl.parent;
    if (ts.isVariableDeclarationList(list) && list.flags & ts.NodeFlags.Const) return decl.initializer;
    return undefined;
  }
  if (ts.isPropertyAssignment(decl)) return decl.initializer;
  return undefined;
}

type Node = Record<string, unknown>;
let loaded = false;

export async function loadParser(): Promise<void> {
  if (!loaded) await loadModule();
  loaded = true;
}

/** The problems of one SQL text; parse errors are problems too (the check cannot judge it). */
export function operatorScopeProblems(sql: string): string[] {
  let tree: Node;
  try {
    tree = parseSync(sql) as unknown as Node;
  } catch (err) {
    return [`does not parse once rebuilt (${(err as Error).message}): make its SQL visible to the check`];
  }
  const problems: string[] = [];
  walk(tree, new Set(), problems);
  return problems;
}

const SCOPED = new Set<string>(OPERATOR_SCOPED_TABLES);

function isNode(v: unknown): v is Node {
  return typeof v === 'object' && v !== null;
}

/** Walks the tree; at each statement level, checks the scoped tables it reads or writes. */
function walk(node: unknown, ctes: Set<string>, problems: string[]): void {
  if (Array.isArray(node)) {
    for (const n of node) walk(n, ctes, problems);
    return;
  }
  if (!isNode(node)) return;
  for (const [key, value] of Object.entries(node)) {
    if (!isNode(value)) continue;
    let scope = ctes;
    const withClause = (value as Node).withClause as Node | undefined;
    if (withClause) {
      scope = new Set(ctes);
      for (const c of (withClause.ctes as Node[]) ?? []) {
        scope.add(((c as Node).CommonTableExpr as Node).ctename as string);
      }
    }
    // A set operation's branches (larg, rarg) are select statements without the wrapper key.
    if (key === 'SelectStmt' || key === 'larg' || key === 'rarg')
      checkLevel((value.fromClause as unknown[]) ?? [], value.whereClause, scope, problems);
    if (key === 'UpdateStmt') {
      checkLevel(
        [{ RangeVar: value.relation }, ...((value.fromClause as unknown[]) ?? [])],
        value.whereClause,
        scope,
        problems,
      );
    }
    if (key === 'DeleteStmt') {
      checkLevel(
        [{ RangeVar: value.relation }, ...((value.usingClause as unknown[]) ?? [])],
        value.whereClause,
        scope,
        problems,
      );
    }
    if (key === 'InsertStmt') {
      const rel = (value.relation as Node).relname as string;
      const cols = ((value.cols as Node[]) ?? []).map((c) => (c.ResTarget as Node).name as string);
      if (SCOPED.has(rel) && !scope.has(rel) && !cols.includes('operator_id')) {
        problems.push(`insert into ${rel} without an operator_id column`);
      }
    }
    walk(value, scope, problems);
  }
}

interface Ref {
  table: string;
  name: string;
}

/** One query level: every scoped table in its FROM must meet `<ref>.operator_id = …` in its quals. */
function checkLevel(from: unknown[], where: unknown, ctes: Set<string>, problems: string[]): void {
  const refs: Ref[] = [];
  const quals: unknown[] = [where];
  const collect = (item: unknown): void => {
    if (!isNode(item)) return;
    const rv = item.RangeVar as Node | undefined;
    if (rv) {
      const table = rv.relname as string;
      if (SCOPED.has(table) && !ctes.has(table)) {
        refs.push({ table, name: ((rv.alias as Node | undefined)?.aliasname as string) ?? table });
      }
    }
    const join = item.JoinExpr as Node | undefined;
    if (join) {
      collect(join.larg);
      collect(join.rarg);
      quals.push(join.quals);
    }
  };
  from.forEach(collect);
  if (refs.length === 0) return;
  // An equality binds a table to one operator when its other side is a value (a parameter, a
  // constant, a column of a CTE or of another relation), or the operator_id of a table already
  // bound; so `e.operator_id = w.operator_id` alone binds neither.
  const scopedNames = new Set(refs.map((r) => r.name));
  const edges: Array<[string[], string[]]> = [];
  findOperatorEqualities(quals, refs.length === 1 ? refs[0]!.name : undefined, edges);
  const bound = new Set<string>();
  const isValue = (names: string[]) =>
    names.length === 0 || names.some((n) => !scopedNames.has(n) || bound.has(n));
  for (let changed = true; changed; ) {
    changed = false;
    for (const [l, r] of edges) {
      for (const [side, other] of [
        [l, r],
        [r, l],
      ]) {
        if (!isValue(other!)) continue;
        for (const n of side!) {
          if (scopedNames.has(n) && !bound.has(n)) {
            bound.add(n);
            changed = true;
          }
        }
      }
    }
  }
  for (const r of refs) {
    if (!bound.has(r.name)) {
      problems.push(`${r.table}${r.name === r.table ? '' : ` (as ${r.name})`} not filtered by operator_id`);
    }
  }
}

/** Each `=`, `= any(…)` or `in (…)` that involves an operator_id column: the names on each side. */
function findOperatorEqualities(
  node: unknown,
  only: string | undefined,
  edges: Array<[string[], string[]]>,
): void {
  if (Array.isArray(node)) {
    for (const n of node) findOperatorEqualities(n, only, edges);
    return;
  }
  if (!isNode(node)) return;
  const names = (side: unknown) =>
    operatorColumns(side)
      .map((ref) => ref ?? only)
      .filter((n): n is string => n !== undefined);
  const sub = node.SubLink as Node | undefined;
  if (sub) {
    // `x in (select …)`: its test expression meets values; the subquery is a level of its own.
    if (sub.subLinkType === 'ANY_SUBLINK') {
      const l = names(sub.testexpr);
      if (l.length > 0) edges.push([l, []]);
    }
    return;
  }
  const expr = node.A_Expr as Node | undefined;
  if (expr) {
    const op = ((expr.name as Node[] | undefined)?.[0]?.String as Node | undefined)?.sval;
    const kind = expr.kind as string;
    const equality =
      (kind === 'AEXPR_OP' && op === '=') || (kind === 'AEXPR_OP_ANY' && op === '=') || kind === 'AEXPR_IN';
    if (equality) {
      const l = names(expr.lexpr);
      const r = names(expr.rexpr);
      if (l.length > 0 || r.length > 0) edges.push([l, r]);
    }
  }
  for (const value of Object.values(node)) findOperatorEqualities(value, only, edges);
}

/** The qualifiers of `operator_id` column references on one side (a row `(a.operator_id, …)` too). */
function operatorColumns(side: unknown): Array<string | undefined> {
  if (!isNode(side)) return [];
  const col = side.ColumnRef as Node | undefined;
  if (col) {
    const fields = (col.fields as Node[]).map(
      (f) => (f.String as Node | undefined)?.sval as string | undefined,
    );
    if (fields[fields.length - 1] !== 'operator_id') return [];
    return [fields.length > 1 ? fields[fields.length - 2] : undefined];
  }
  const row = side.RowExpr as Node | undefined;
  if (row) return ((row.args as unknown[]) ?? []).flatMap(operatorColumns);
  const cast = side.TypeCast as Node | undefined;
  if (cast) return operatorColumns(cast.arg);
  return [];
}

/** Every finding over the sites, one per (site, problem). */
export function findUnscoped(sites: SqlSite[]): Finding[] {
  const out: Finding[] = [];
  for (const site of sites) {
    const problems = new Set(site.variants.flatMap(operatorScopeProblems));
    for (const problem of problems) out.push({ site, problem });
  }
  return out;
}
