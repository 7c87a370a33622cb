import type { StatusCheck } from '../types.js';
import { checks as foundation } from './foundation.js';
import { checks as guard } from './guard.js';
import { checks as sql } from './sql.js';
import { checks as backup } from './backup.js';
import { checks as recovery } from './recovery.js';
import { checks as migrate } from './migrate.js';
import { checks as trust } from './trust.js';

/** Every scorecard check, grouped by rule when shown. */
export const allChecks: StatusCheck[] = [...foundation, ...guard, ...sql, ...backup, ...recovery, ...migrate, ...trust];
