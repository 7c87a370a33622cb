/**
 * The migration linter: runs every rule of ./rules over each statement of a migration, in order,
 * tracking what the migration did so far (tables it created, lock_timeout, transaction state).
 * Suppression: `-- prodguard-ignore <rule-id>[, <rule-id>…]: <reason>` on the comment lines
 * directly above a statement. The reason is mandatory; it is kept on the finding so the deploy
 * can audit it.
 */
import { relationName } from './facts.js';
import { lineColumn, loadSqlParser, parseStatements, type ParsedStatement } from './parser.js';
import { asNode } from './ast.js';
import { lintRules } from './rules/index.js';
import { runnerPlan, type MigrationRunner } from './runner.js';
import { tableKey } from './rules/helpers.js';
import type { LintContext, LintRule } from './rules/types.js';

export interface LintFinding {
  ruleId: string;
  severity: 'error' | 'warning';
  message: string;
  file?: string;
  line: number;
  column: number;
  /** The statement's source text. */
  statement: string;
  /** Present when a `-- prodguard-ignore` comment suppressed the finding. */
  suppressed?: { reason: string };
}

export interface LintOptions {
  file?: string;
  /**
   * Whether the migration runs inside a transaction. Default true: Supabase and prodguard apply
   * each migration file in one transaction. A file whose first comment lines contain
   * `-- prodguard: no-transaction` is linted as running outside one, whatever this says.
   */
  assumeInTransaction?: boolean;
  /**
   * The tool that applies the file (src/sql/runner.ts): decides whether the file runs in a
   * transaction and whether a failed file is re-run, as that runner really does. Without it the
   * file is linted the prodguard way (assumeInTransaction and the no-transaction comment).
   * `assumeInTransaction: false` still forces "outside a transaction".
   */
  runner?: MigrationRunner;
  /** Major version of the target server, for version-dependent rules. */
  postgresMajor?: number;
}

interface Suppression {
  ruleIds: string[];
  reason: string;
  line: number;
  column: number;
}

const SUPPRESS = /^--\s*prodguard-ignore\b\s*([^:]*?)\s*(?::\s*(.*?))?\s*$/;
const NO_TRANSACTION = /^--\s*prodguard:\s*no-transaction\b/;

/** The `--` comment lines directly above a statement (no blank line in between), with positions. */
function commentLinesAbove(sql: string, s: ParsedStatement): Array<{ text: string; offset: number }> {
  const out: Array<{ text: string; offset: number }> = [];
  let lineEnd = sql.lastIndexOf('\n', s.start - 1);
  if (lineEnd < s.leadingStart) return out;
  // The statement must start its line (only whitespace before it) for "directly above" to hold.
  if (sql.slice(lineEnd + 1, s.start).trim() !== '') return out;
  while (lineEnd >= s.leadingStart) {
    const lineStart = sql.lastIndexOf('\n', lineEnd - 1) + 1;
    const raw = sql.slice(lineStart, lineEnd);
    const text = raw.trim();
    if (!text.startsWith('--')) break;
    out.unshift({ text, offset: lineStart + raw.indexOf('--') });
    if (lineStart === 0 || lineStart - 1 < s.leadingStart) break;
    lineEnd = lineStart - 1;
  }
  return out;
}

const knownRule = (id: string) => lintRules.some((r) => r.id === id);

/** Rules whose finding the runner enforces itself: a suppression would only hide that the file will be refused (red team w5c-098). */
const UNSUPPRESSIBLE = new Set(['transaction-nesting']);
const ruleById = (id: string) => lintRules.find((r) => r.id === id) as LintRule;

/** Lints already-parsed statements. */
export function lintStatements(sql: string, stmts: ParsedStatement[], opts: LintOptions = {}): LintFinding[] {
  const head = stmts[0] ? sql.slice(0, stmts[0].start) : sql;
  const noTransaction = head.split('\n').some((l) => NO_TRANSACTION.test(l.trim()));
  const plan = opts.runner ? runnerPlan(opts.runner, stmts, noTransaction) : undefined;
  const assumed = opts.assumeInTransaction === false ? false : plan ? plan.inTransaction : noTransaction ? false : (opts.assumeInTransaction ?? true);
  const ctx: LintContext = {
    inTransaction: assumed,
    noTransactionMarker: noTransaction,
    ...(plan ? { runner: plan } : {}),
    ...(opts.postgresMajor !== undefined ? { postgresMajor: opts.postgresMajor } : {}),
    createdTables: new Set(),
    concurrentIndexes: new Set(),
    notValidConstraints: new Set(),
    lockTimeoutSet: false,
    timeoutReported: false,
    all: stmts,
    memo: new Map<string, unknown>([['assumedTransaction', assumed]]),
  };
  const findings: LintFinding[] = [];
  const meta = ruleById('suppression-needs-reason');
  for (const s of stmts) {
    const suppressions: Suppression[] = [];
    for (const c of commentLinesAbove(sql, s)) {
      const m = SUPPRESS.exec(c.text);
      if (!m) continue;
      const ids = m[1].split(/[\s,]+/).filter(Boolean);
      const reason = (m[2] ?? '').trim();
      const pos = lineColumn(sql, c.offset);
      const problem =
        ids.length === 0
          ? 'names no rule'
          : !reason
            ? `gives no reason (write "-- prodguard-ignore ${ids.join(', ')}: <why>")`
            : [...ids.filter((i) => !knownRule(i)).map((i) => `names unknown rule "${i}"`), ...ids.filter((i) => UNSUPPRESSIBLE.has(i)).map((i) => `names ${i}, which cannot be suppressed (the runner refuses such a file whatever the comment says)`)].join(', ');
      if (problem) findings.push({ ruleId: meta.id, severity: meta.severity, message: `suppression comment ${problem}`, file: opts.file, ...pos, statement: s.text });
      else suppressions.push({ ruleIds: ids, reason, ...pos });
    }
    for (const rule of lintRules) {
      if (!rule.check) continue;
      const result = rule.check(s, ctx);
      const messages = result === undefined ? [] : Array.isArray(result) ? result : [result];
      for (const hit of messages) {
        const sup = suppressions.find((x) => x.ruleIds.includes(rule.id));
        const message = typeof hit === 'string' ? hit : hit.message;
        const at = typeof hit !== 'string' && typeof hit.location === 'number' && hit.location >= 0 ? s.locate(hit.location) : { line: s.line, column: s.column };
        findings.push({
          ruleId: rule.id,
          severity: rule.severity,
          message,
          file: opts.file,
          line: at.line,
          column: at.column,
          statement: s.text,
          ...(sup ? { suppressed: { reason: sup.reason } } : {}),
        });
      }
    }
    track(s, ctx, assumed);
  }
  return findings;
}

/** Updates what the migration has done so far, after the rules saw the statement. */
function track(s: ParsedStatement, ctx: LintContext, assumed: boolean): void {
  const { kind, node: n } = s;
  switch (kind) {
    case 'CreateStmt':
    case 'CreateTableAsStmt':
      ctx.createdTables.add(tableKey(kind === 'CreateStmt' ? n.relation : n.into?.rel));
      break;
    case 'IndexStmt':
      if (n.concurrent && n.idxname) ctx.concurrentIndexes.add(n.idxname);
      break;
    case 'VariableSetStmt':
      if (String(n.name).toLowerCase() === 'lock_timeout') ctx.lockTimeoutSet = n.kind === 'VAR_SET_VALUE';
      break;
    case 'TransactionStmt': {
      const k = String(n.kind);
      if (k === 'TRANS_STMT_BEGIN' || k === 'TRANS_STMT_START') ctx.inTransaction = true;
      if (k === 'TRANS_STMT_COMMIT' || k === 'TRANS_STMT_ROLLBACK') {
        ctx.inTransaction = assumed;
        ctx.notValidConstraints.clear();
      }
      break;
    }
    case 'AlterTableStmt':
      for (const c of n.cmds ?? []) {
        const cmd = asNode(c, 'AlterTableCmd');
        const def = asNode(cmd?.def, 'Constraint');
        if (cmd?.subtype === 'AT_AddConstraint' && def?.skip_validation && def.conname) ctx.notValidConstraints.add(def.conname);
      }
      break;
  }
}

/** Lints a migration's SQL. Throws SqlSyntaxError (with the position) when it does not parse. */
export async function lint(sql: string, opts: LintOptions = {}): Promise<LintFinding[]> {
  await loadSqlParser();
  return lintStatements(sql, parseStatements(sql), opts);
}

export { lintRules };
