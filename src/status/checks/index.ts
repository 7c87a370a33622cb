import type { StatusCheck } from '../types.js';
import { checks as foundation } from './foundation.js';
import { checks as guard } from './guard.js';
import { checks as sql } from './sql.js';
import { checks as backup } from './backup.js';
import { checks as recovery } from './recovery.js';
import { checks as migrate } from './migrate.js';
import { checks as server } from './server.js';
import { checks as secrets } from './secrets.js';
import { checks as lockdown } from './lockdown.js';
import { checks as trust } from './trust.js';
import { checks as emergency } from './emergency.js';
import { checks as shadow } from './shadow.js';

/** Every scorecard check, grouped by rule when shown. One line per group keeps merges trivial. */
export const allChecks: StatusCheck[] = [
  ...foundation,
  ...guard,
  ...sql,
  ...backup,
  ...recovery,
  ...migrate,
  ...server,
  ...secrets,
  ...lockdown,
  ...trust,
  ...emergency,
  ...shadow,
];
