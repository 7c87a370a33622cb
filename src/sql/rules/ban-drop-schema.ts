import { objectNamesOf } from './helpers.js';
import type { LintRule } from './types.js';

export const rule: LintRule = {
  id: 'ban-drop-schema',
  severity: 'error',
  title: 'Dropping a schema',
  explanation:
    'DROP SCHEMA removes a namespace, and with CASCADE every table, view and function in it, in one statement. Drop the objects one by one in migrations that say why, after the application stopped using them and a backup exists.',
  examples: { bad: ['DROP SCHEMA reporting CASCADE;', 'DROP SCHEMA IF EXISTS old;'], good: ['CREATE SCHEMA IF NOT EXISTS reporting;'] },
  check: (s) => (s.kind === 'DropStmt' && s.node.removeType === 'OBJECT_SCHEMA' ? `DROP SCHEMA ${objectNamesOf(s.node).join(', ')}${s.node.behavior === 'DROP_CASCADE' ? ' CASCADE drops every object in it' : ' removes a schema'}` : undefined),
};
