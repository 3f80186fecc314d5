import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { cruise, type IForbiddenRuleType } from 'dependency-cruiser';
import ts from 'typescript';

/**
 * The rules of the house (docs/architecture.md, "What may import what"), checked on a folder
 * laid out like the project: the import graph with dependency-cruiser, and reads of an actor's
 * state path with the TypeScript parser. Paths are relative to `baseDir`, with `/`.
 */

/** The logic: pure, and the only code a decision depends on. */
const LOGIC = '^(machines|src/(planner|domain|ports))/';

export const IMPORT_RULES: IForbiddenRuleType[] = [
  {
    name: 'logic-imports-no-outer-layer',
    comment: 'machines, planner, domain and ports import no adapter, runtime, config, http, cli, log or sim module (machines may import planner, domain and ports)',
    severity: 'error',
    from: { path: LOGIC },
    to: { path: '^(src/(?!planner/|domain/|ports/)|bench/|test/)' },
  },
  {
    name: 'logic-below-machines',
    comment: 'the planner, domain and ports do not know the statecharts that use them',
    severity: 'error',
    from: { path: '^src/(planner|domain|ports)/' },
    to: { path: '^machines/' },
  },
  {
    name: 'logic-does-no-io',
    comment: 'no I/O library in the logic: no network, file, process, logger or cloud SDK',
    severity: 'error',
    from: { path: LOGIC },
    to: { path: '^(node:)?(fs|fs/promises|net|http|https|http2|dgram|child_process|worker_threads|readline)$|(^|/)node_modules/(undici|pino|rxjs|@aws-sdk/[^/]+)/' },
  },
  {
    name: 'config-builds-nothing',
    comment: 'src/config reads and validates settings; it imports no adapter (sources, cloud, sim)',
    severity: 'error',
    from: { path: '^src/config/' },
    to: { path: '^src/(sources|cloud|sim)/' },
  },
];

/**
 * Helpers that take a state value (or a snapshot) and answer by its path. Outside machines/ the
 * fleet is read through tags and the selectors the machines export, never by path.
 */
export const STATE_PATH_HELPERS = ['statePath', 'phaseOf', 'stateLabel', 'isChanging', 'isDrainWaiting'];

export interface Violation {
  rule: string;
  from: string;
  /** The module imported, or what was read (`getSnapshot().children`, `imports statePath`). */
  to: string;
}

export async function checkImports(baseDir: string): Promise<Violation[]> {
  const roots = ['src', 'machines', 'bench'].filter((d) => readdirSync(baseDir).includes(d));
  const result = await cruise(
    roots,
    { baseDir, validate: true, tsPreCompilationDeps: true, doNotFollow: { path: 'node_modules' }, ruleSet: { forbidden: IMPORT_RULES } },
    // The project imports `./x.js` for `./x.ts` (NodeNext).
    { extensionAlias: { '.js': ['.ts', '.js'] } },
  );
  const out = result.output;
  if (typeof out === 'string') throw new Error('dependency-cruiser answered text, not a result');
  return out.summary.violations.map((v) => ({ rule: v.rule.name, from: v.from, to: v.to }));
}

function* tsFiles(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* tsFiles(p);
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) yield p;
  }
}

/** `x.getSnapshot()`, through parentheses, `as`, `!` and `?.`. */
function isGetSnapshotCall(n: ts.Expression): boolean {
  while (ts.isParenthesizedExpression(n) || ts.isAsExpression(n) || ts.isNonNullExpression(n) || ts.isSatisfiesExpression(n)) n = n.expression;
  return ts.isCallExpression(n) && (ts.isPropertyAccessExpression(n.expression) ? n.expression.name.text === 'getSnapshot' : false);
}

/** Files outside machines/ that read an actor's state path: by a path helper, or `.value` / `.children` / `.matches()` of a snapshot. */
export function checkStatePathReads(baseDir: string): Violation[] {
  const found: Violation[] = [];
  const machinesDir = resolve(baseDir, 'machines') + sep;
  for (const root of ['src', 'bench']) {
    let files: string[];
    try {
      files = [...tsFiles(join(baseDir, root))];
    } catch {
      continue;
    }
    for (const file of files) {
      const from = relative(baseDir, file).split(sep).join('/');
      const src = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
      const add = (to: string) => {
        if (!found.some((v) => v.from === from && v.to === to)) found.push({ rule: 'no-state-path-outside-machines', from, to });
      };
      // Names bound to a snapshot in this file: `const s = x.getSnapshot()`.
      const snapshots = new Set<string>();
      const visit = (n: ts.Node) => {
        if (ts.isImportDeclaration(n) && ts.isStringLiteral(n.moduleSpecifier) && n.moduleSpecifier.text.startsWith('.')) {
          const target = resolve(dirname(file), n.moduleSpecifier.text);
          const names = n.importClause?.namedBindings;
          if (target.startsWith(machinesDir) && names && ts.isNamedImports(names)) {
            for (const el of names.elements) {
              const name = (el.propertyName ?? el.name).text;
              if (STATE_PATH_HELPERS.includes(name)) add(`imports ${name}`);
            }
          }
        }
        if (ts.isVariableDeclaration(n) && ts.isIdentifier(n.name) && n.initializer && isGetSnapshotCall(n.initializer)) snapshots.add(n.name.text);
        if (ts.isPropertyAccessExpression(n) && ['value', 'children', 'matches'].includes(n.name.text)) {
          let obj: ts.Expression = n.expression;
          while (ts.isParenthesizedExpression(obj) || ts.isAsExpression(obj) || ts.isNonNullExpression(obj)) obj = obj.expression;
          if (isGetSnapshotCall(obj) || (ts.isIdentifier(obj) && snapshots.has(obj.text))) add(`getSnapshot().${n.name.text}`);
        }
        ts.forEachChild(n, visit);
      };
      visit(src);
    }
  }
  return found;
}

export async function checkArchitecture(baseDir: string): Promise<Violation[]> {
  return [...(await checkImports(baseDir)), ...checkStatePathReads(baseDir)];
}
