/** The shape of a lint rule: one file per rule in this folder, named by its id (squawk-style). */
import type { ParsedStatement } from '../parser.js';

export type Severity = 'error' | 'warning';

/** What the linter knows while walking one migration, statement by statement. */
export interface LintContext {
  /** True while statements run inside a transaction (explicit BEGIN, or assumed for the file). */
  inTransaction: boolean;
  /** The file carries prodguard's `-- prodguard: no-transaction` marker before its first statement. */
  noTransactionMarker?: boolean;
  /** Tables created earlier in this migration ('schema.name', schema defaulting to public): new and empty, so locking rules do not apply. */
  createdTables: Set<string>;
  /** Indexes created CONCURRENTLY earlier in this migration (by name). */
  concurrentIndexes: Set<string>;
  /** Constraints added NOT VALID earlier in this migration, in the current transaction (by name). */
  notValidConstraints: Set<string>;
  /** A `SET lock_timeout` ran earlier in this migration. */
  lockTimeoutSet: boolean;
  /** require-timeout-settings already reported in this migration (it fires once). */
  timeoutReported: boolean;
  /** Every statement of the migration (for rules that look at the whole file). */
  all: ParsedStatement[];
  /** How the file's runner applies it (lint --runner); absent: the prodguard way, re-run when outside a transaction. */
  runner?: { runner: string; inTransaction: boolean; rerunsFile: boolean };
  /** Major version of the PostgreSQL the migration targets (lint --postgres-version), when known. */
  postgresMajor?: number;
  /** Memo for rules that compute something once per migration. */
  memo: Map<string, unknown>;
}

export interface LintRule {
  id: string;
  severity: Severity;
  title: string;
  /** One paragraph: why it is dangerous and the safe alternative. */
  explanation: string;
  /** Migrations that must trigger the rule, and safe variants that must not. */
  examples: { bad: string[]; good: string[] };
  /**
   * Returns the findings for one statement (none: undefined or []): a message, or a message with
   * the parse-node `location` (byte offset) to point the caret at instead of the statement start.
   */
  check?(stmt: ParsedStatement, ctx: LintContext): RuleHit | RuleHit[] | undefined;
}

export type RuleHit = string | { message: string; location?: number };

export type { ParsedStatement };
