/** Every lint rule, in documentation order. One file per rule, named by its id. */
import { rule as addingFieldWithVolatileDefault } from './adding-field-with-volatile-default.js';
import { rule as addingForeignKeyConstraint } from './adding-foreign-key-constraint.js';
import { rule as addingNotNullField } from './adding-not-null-field.js';
import { rule as addingRequiredField } from './adding-required-field.js';
import { rule as banCharField } from './ban-char-field.js';
import { rule as banConcurrentIndexCreationInTransaction } from './ban-concurrent-index-creation-in-transaction.js';
import { rule as banDataChangeInSchemaMigration } from './ban-data-change-in-schema-migration.js';
import { rule as banDeleteWithoutWhere } from './ban-delete-without-where.js';
import { rule as banDropColumn } from './ban-drop-column.js';
import { rule as banDropDatabase } from './ban-drop-database.js';
import { rule as banDropNotNull } from './ban-drop-not-null.js';
import { rule as banDropSchema } from './ban-drop-schema.js';
import { rule as banDropTable } from './ban-drop-table.js';
import { rule as banTruncateCascade } from './ban-truncate-cascade.js';
import { rule as banTruncate } from './ban-truncate.js';
import { rule as banUpdateWithoutWhere } from './ban-update-without-where.js';
import { rule as changingColumnType } from './changing-column-type.js';
import { rule as constraintMissingNotValid } from './constraint-missing-not-valid.js';
import { rule as disallowedUniqueConstraint } from './disallowed-unique-constraint.js';
import { rule as preferBigintOverInt } from './prefer-bigint-over-int.js';
import { rule as preferRobustStmts } from './prefer-robust-stmts.js';
import { rule as preferTimestamptz } from './prefer-timestamptz.js';
import { rule as renamingColumn } from './renaming-column.js';
import { rule as renamingTable } from './renaming-table.js';
import { rule as requireConcurrentIndexCreation } from './require-concurrent-index-creation.js';
import { rule as requireConcurrentIndexDeletion } from './require-concurrent-index-deletion.js';
import { rule as requireTimeoutSettings } from './require-timeout-settings.js';
import { rule as suppressionNeedsReason } from './suppression-needs-reason.js';
import { rule as transactionNesting } from './transaction-nesting.js';
import { rule as dynamicSql } from './dynamic-sql.js';
import { rule as banDestructiveStatementInRoutine } from './ban-destructive-statement-in-routine.js';
import { rule as banRoleSwitching } from './ban-role-switching.js';
import { rule as banSafetyDisablingSetting } from './ban-safety-disabling-setting.js';
import { rule as banServerFileAccess } from './ban-server-file-access.js';
import { rule as banAlterSystem } from './ban-alter-system.js';
import { rule as identifierTooLong } from './identifier-too-long.js';
import { rule as enumValueNotAtEnd } from './enum-value-not-at-end.js';
import { rule as banAlterEnumAddValueInTransaction } from './ban-alter-enum-add-value-in-transaction.js';
import { rule as preferIdentity } from './prefer-identity.js';
import { rule as preferTextField } from './prefer-text-field.js';
import { rule as banPrivilegeEscalation } from './ban-privilege-escalation.js';
import { rule as securityDefinerWithoutSearchPath } from './security-definer-without-search-path.js';
import { rule as noTransactionWithoutNeed } from './no-transaction-without-need.js';
import type { LintRule } from './types.js';

export const lintRules: readonly LintRule[] = [
  addingFieldWithVolatileDefault,
  addingForeignKeyConstraint,
  addingNotNullField,
  addingRequiredField,
  banCharField,
  banConcurrentIndexCreationInTransaction,
  banDataChangeInSchemaMigration,
  banDeleteWithoutWhere,
  banDropColumn,
  banDropDatabase,
  banDropNotNull,
  banDropSchema,
  banDropTable,
  banTruncateCascade,
  banTruncate,
  banUpdateWithoutWhere,
  changingColumnType,
  constraintMissingNotValid,
  disallowedUniqueConstraint,
  preferBigintOverInt,
  preferRobustStmts,
  preferTimestamptz,
  renamingColumn,
  renamingTable,
  requireConcurrentIndexCreation,
  requireConcurrentIndexDeletion,
  requireTimeoutSettings,
  suppressionNeedsReason,
  transactionNesting,
  dynamicSql,
  banDestructiveStatementInRoutine,
  banRoleSwitching,
  banSafetyDisablingSetting,
  banServerFileAccess,
  banAlterSystem,
  identifierTooLong,
  enumValueNotAtEnd,
  banAlterEnumAddValueInTransaction,
  preferIdentity,
  preferTextField,
  banPrivilegeEscalation,
  securityDefinerWithoutSearchPath,
  noTransactionWithoutNeed,
];

export type { LintRule, LintContext, Severity } from './types.js';
