import type { DemoChapter } from '../types.js';
import { recoveryChapter } from './recovery.js';
import { sqlLintChapter } from './sql-lint.js';
import { backupChapter } from './backup.js';
import { guardChapter } from './guard.js';
import { migrateChapter } from './migrate.js';
import { accessChapter } from './access.js';
import { emergencyChapter } from './emergency.js';
import { auditChapter } from './audit.js';

/** The demo's chapters, in story order. Each layer appends its own. */
export const chapters: DemoChapter[] = [guardChapter, backupChapter, sqlLintChapter, migrateChapter, accessChapter, emergencyChapter, recoveryChapter, auditChapter];
