/**
 * What the runner checks before anything runs: every file parses with PostgreSQL's own grammar and
 * contains no transaction control. Transaction control is the runner's alone — a COMMIT inside a
 * file would end the runner's transaction (what follows runs outside the all-or-nothing deploy,
 * without the SET LOCAL timeouts, and the history row is no longer in the same transaction); a
 * ROLLBACK or ROLLBACK TO SAVEPOINT silently discards work the history then calls applied. A
 * no-transaction file is run statement by statement by the runner, so a BEGIN there would make the
 * account of what stayed applied wrong: refused as well. Not suppressible: lint findings can be
 * suppressed with a reason, this check cannot.
 */
import { RefusedError } from '../errors.js';
import { loadSqlParser, parseStatements, SqlSyntaxError, type ParsedStatement } from '../sql/parser.js';
import { transactionControl } from '../sql/rules/transaction-nesting.js';
import type { MigrationFile } from './files.js';

export interface RunnableMigration {
  file: MigrationFile;
  statements: ParsedStatement[];
}

export class MigrationRefusedError extends RefusedError {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`migrations refused before anything ran: ${problems.join('; ')}; nothing was applied`, 'migrate.refused');
    this.problems = problems;
  }
}

/** Parses every file and refuses (listing every problem) when one cannot be run safely. */
export async function prepareMigrations(files: MigrationFile[]): Promise<RunnableMigration[]> {
  await loadSqlParser();
  const problems: string[] = [];
  const out: RunnableMigration[] = [];
  for (const f of files) {
    let statements: ParsedStatement[];
    try {
      statements = parseStatements(f.sql);
    } catch (err) {
      if (!(err instanceof SqlSyntaxError)) throw err;
      problems.push(`${f.file}:${err.line}: does not parse (${err.detail})`);
      continue;
    }
    for (const s of statements) {
      const word = transactionControl(s);
      if (word) {
        problems.push(
          `${f.file}:${s.line}: ${word} — transaction control is the runner's alone ` +
            (f.noTransaction
              ? '(a no-transaction file is applied one statement at a time; split it into transactional files instead)'
              : '(each file runs in one transaction with its history row; remove it, or split statements that cannot run in a transaction into a file marked -- prodguard: no-transaction)'),
        );
      }
    }
    out.push({ file: f, statements });
  }
  if (problems.length) throw new MigrationRefusedError(problems);
  return out;
}
