import type { DemoChapter } from '../types.js';
import { recoveryChapter } from './recovery.js';
import { sqlLintChapter } from './sql-lint.js';

/** The demo's chapters, in story order. Each layer appends its own. */
export const chapters: DemoChapter[] = [recoveryChapter, sqlLintChapter];
