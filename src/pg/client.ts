/**
 * Connecting to PostgreSQL with node-postgres. Errors are rewritten into one masked line
 * ("cannot connect to 127.0.0.1:5432/app: password authentication failed for user …").
 */
import pg from 'pg';
import { ProdguardError, errorMessage } from '../errors.js';
import { maskSecrets } from '../security/mask.js';
import { parseConnInfo } from './conninfo.js';

export type Client = pg.Client;

/** host:port/database of a connection; an unparseable one is never echoed (its password might not mask cleanly). */
export function describeTarget(url: string): string {
  const c = parseConnInfo(url);
  return c ? `${c.host}:${c.port}/${c.database}` : 'an unparseable connection string';
}

export async function connect(url: string, opts: { applicationName?: string } = {}): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: opts.applicationName ?? 'prodguard', connectionTimeoutMillis: 10_000 });
  // An idle client whose server goes away emits 'error'; without a listener node would crash.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => {});
    throw new ProdguardError(`cannot connect to ${describeTarget(url)}: ${maskSecrets(errorMessage(err))}`, { code: 'pg.connect', cause: err });
  }
  return client;
}

/** Opens a connection, runs `fn`, always closes. */
export async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = await connect(url);
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** An identifier quoted for SQL (node-postgres's own escapeIdentifier). */
export const quoteIdent: (name: string) => string = pg.escapeIdentifier;

/**
 * A string literal for SQL (node-postgres's escapeLiteral): a value holding a backslash becomes an
 * E'' literal, so it reads the same whatever standard_conforming_strings is.
 */
export const quoteLiteral: (s: string) => string = pg.escapeLiteral;
