/** Applies config.staging.masking to a database (staging refresh). */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { Context } from '../context.js';
import { quoteIdent } from '../pg/client.js';
import { maskExpression, type MaskStrategy } from './sql/masking.js';

const SALT_KEY = 'staging.masking-salt';

export async function maskingSalt(ctx: Context): Promise<string> {
  const store = await ctx.store();
  let salt = await store.getMeta(SALT_KEY);
  if (!salt) {
    salt = randomBytes(16).toString('hex');
    await store.setMeta(SALT_KEY, salt);
  }
  return salt;
}

export interface MaskRule {
  table: string;
  column: string;
  strategy: MaskStrategy;
}

/** Runs in the caller's transaction; a missing table or column throws (the caller fails closed). */
export async function applyMasking(c: pg.Client, rules: MaskRule[], salt: string): Promise<number> {
  let rows = 0;
  for (const r of rules) {
    const [schema, table] = r.table.includes('.') ? r.table.split('.', 2) : ['public', r.table];
    const col = quoteIdent(r.column);
    const res = await c.query(`UPDATE ${quoteIdent(schema)}.${quoteIdent(table)} SET ${col} = ${maskExpression(r.strategy, col)}`, r.strategy === 'null' ? [] : [salt]);
    rows += res.rowCount ?? 0;
  }
  return rows;
}
