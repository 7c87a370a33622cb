/**
 * The package's root export (`import … from 'prodguard'`): the two layers other tools embed —
 * the SQL classifier/linter and the command guard — under their own names, so neither has to
 * rename its exports. `prodguard/sql` and `prodguard/guard` give the same modules directly.
 */
export * as sql from './sql/index.js';
export * as guard from './guard/index.js';
