import { appTarget, longValue, positionalsOf } from './common.js';
import type { GuardRule, Finding } from './types.js';

const DESTRUCTIVE: Record<string, string> = {
  'migrate:rollback': 'rolls back migrations (dropping what they created) in',
  'migrate:down': 'reverts a migration in',
  'db:drop': 'drops the whole database',
  'db:migrate:undo': 'reverts the last migration in',
  'db:migrate:undo:all': 'reverts every migration (dropping every table) in',
  'db:seed:undo': 'deletes seeded rows from',
  'db:seed:undo:all': 'deletes all seeded rows from',
  'schema:drop': 'drops every table in',
  'migration:revert': 'reverts the last migration in',
  'schema:sync': 'synchronises the schema (dropping columns that left the entities) in',
  'seed:run': 'runs seed scripts (often truncating tables) in',
};
const CHANGE = new Set(['migrate:latest', 'migrate:up', 'db:migrate', 'migration:run', 'db:seed:all', 'db:seed']);

export const rule: GuardRule = {
  id: 'node-migrators',
  tools: ['knex', 'sequelize', 'sequelize-cli', 'typeorm', 'typeorm-ts-node-commonjs', 'typeorm-ts-node-esm'],
  severity: 'error',
  title: 'knex / sequelize / typeorm rollbacks, drops and unreviewed migrations',
  explanation: 'Rollbacks (`knex migrate:rollback`, `sequelize db:migrate:undo:all`, `typeorm migration:revert`) drop what migrations created; `sequelize db:drop` and `typeorm schema:drop` drop everything; `schema:sync` can drop columns. Applying migrations (`migrate:latest`, `db:migrate`, `migration:run`) to production needs approval: use `prodguard migrate deploy`. Targets: --env/NODE_ENV, --url, DATABASE_URL (environment, then .env).',
  examples: { deny: ['npx knex migrate:rollback --all --env production', 'npx sequelize-cli db:drop --env production', 'DATABASE_URL="$PROD_URL" typeorm schema:drop'], allow: ['knex migrate:rollback', 'knex migrate:make add_users', 'sequelize migration:generate --name x', 'knex migrate:status'] },
  check(inv, h) {
    const cmd = positionalsOf(inv.args)[0];
    if (!cmd) return null;
    const envName = longValue(inv.args, '--env') ?? inv.env.NODE_ENV;
    const spec = appTarget(inv, longValue(inv.args, '--url'));
    if (envName && !spec.opaque) spec.environmentName = envName;
    const target = h.target(spec);
    let f: Finding | null = null;
    if (DESTRUCTIVE[cmd]) f = { risk: 'destructive', effect: DESTRUCTIVE[cmd], target, alternative: 'Write a forward migration and ship it with `prodguard migrate`.' };
    else if (CHANGE.has(cmd)) f = { risk: 'change', effect: `applies migrations without approval (${cmd}) to`, target, alternative: 'Use `prodguard migrate deploy` (staging first, two approvals, backup).' };
    if (f && cmd === 'db:drop') f.effect = 'drops the whole database';
    return f;
  },
};
