/**
 * `prodguard mcp`: an MCP server (stdio) that gives agents what they legitimately need from an
 * environment — read-only queries with a row limit, schema and table descriptions, EXPLAIN,
 * backup and deploy status — and a way to *request* a change (a migration file for the
 * staging-first, two-approval pipeline). Nothing here can write to the database.
 *
 * The connection goes through the gateway when PRODGUARD_GATEWAY_URL is set (the agent then
 * holds only a gateway login, never the database password), else to the environment's URL;
 * either way every query is classified first and runs in a READ ONLY transaction. Every call is
 * audited. Protocol output owns stdout; nothing else may print there.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';
import type { Context } from '../context.js';
import { connect, type Client } from '../pg/client.js';
import { connectionUrl, requireEnvironment } from '../config/connection.js';
import { UsageError, errorMessage } from '../errors.js';
import { shadowReadUrl } from '../shadow/read-from.js';
import { backupStatus, deployStatus, describeSchema, describeTable, explainQuery, requestChange, runReadOnlyQuery, MAX_ROWS } from './tools.js';
import { maskLiterals } from '../gateway/judge.js';
import { auditedTransport } from './audited-transport.js';

export interface McpOptions {
  env: string;
  /** Overrides the connection (default: PRODGUARD_GATEWAY_URL, else the environment's URL). */
  url?: string;
  /**
   * Run query/describe/explain on this environment, which must be the recorded shadow of env
   * (read-only debugging that puts no load on production); backup/deploy status stay env's.
   */
  readFrom?: string;
}

type ToolResult = { content: Array<{ type: 'text'; text: string }>; isError?: boolean };

export function buildMcpServer(ctx: Context, opts: McpOptions): { server: McpServer; close(): Promise<void> } {
  requireEnvironment(ctx.loaded, opts.env);
  const where = opts.readFrom ? ` (read from its shadow ${opts.readFrom})` : '';
  const server = new McpServer({ name: 'prodguard', version: '1' }, { instructions: `Read-only access to the ${opts.env} database${where} through prodguard. Writes are refused; use request_change to propose a migration.` });
  let client: Promise<Client> | null = null;
  const db = () => (client ??= databaseUrl(ctx, opts).then((url) => connect(url, { applicationName: 'prodguard-mcp' })));
  // One connection, one call at a time: agents send tool calls in parallel, and a transaction or
  // cursor of one call must not be interleaved with another's (red team ag-010).
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = queue.then(fn, fn);
    queue = next.catch(() => undefined);
    return next;
  };
  // Calls the SDK rejects before they reach a tool (unknown tool, bad arguments) are audited too.
  const handled = new Set<string | number>();
  const plainConnect = server.connect.bind(server);
  server.connect = (t) =>
    plainConnect(
      auditedTransport(t, handled, async (r) => {
        await ctx.audit({ action: `mcp.${/^[a-z_]+$/.test(r.tool) ? r.tool : 'call'}`, command: maskLiterals(`${r.tool} ${r.args}`), target: opts.env, verdict: 'deny', reason: `rejected before running: ${r.reason}`.slice(0, 500) });
      }),
    );

  async function call(tool: string, detail: string, fn: () => Promise<unknown>, extra?: { requestId?: string | number }): Promise<ToolResult> {
    if (extra?.requestId !== undefined) handled.add(extra.requestId);
    return serial(() => callNow(tool, detail, fn));
  }

  async function callNow(tool: string, detail: string, fn: () => Promise<unknown>): Promise<ToolResult> {
    try {
      const out = await fn();
      await ctx.audit({ action: `mcp.${tool}`, command: maskLiterals(detail), target: opts.env, verdict: 'allow', reason: `${tool} answered${tool === 'query' || tool === 'explain' || tool.startsWith('describe') ? where : ''}` });
      return { content: [{ type: 'text', text: typeof out === 'string' ? out : JSON.stringify(out, null, 2) }] };
    } catch (err) {
      const message = errorMessage(err);
      await ctx.audit({ action: `mcp.${tool}`, command: maskLiterals(detail), target: opts.env, verdict: /^refused/.test(message) ? 'deny' : 'failed', reason: message }).catch(() => undefined);
      return { content: [{ type: 'text', text: message }], isError: true };
    }
  }

  server.registerTool('query', {
    description: `Run one read-only SQL statement on ${opts.env}${where} (refused unless prodguard proves it read-only); returns at most "limit" rows (max ${MAX_ROWS}).`,
    inputSchema: { sql: z.string().min(1).max(100_000), limit: z.number().int().min(1).max(MAX_ROWS).optional() },
  }, async ({ sql, limit }, extra) => call('query', sql, async () => runReadOnlyQuery(await db(), sql, limit ?? 100), extra));

  server.registerTool('describe_schema', {
    description: 'List the tables, views and materialized views of a schema with column counts and estimated rows.',
    inputSchema: { schema: z.string().optional() },
  }, async ({ schema }, extra) => call('describe_schema', schema ?? 'public', async () => describeSchema(await db(), schema ?? 'public'), extra));

  server.registerTool('describe_table', {
    description: 'Columns (type, nullability, default), indexes and constraints of a table ("schema.table" or "table").',
    inputSchema: { table: z.string().min(1) },
  }, async ({ table }, extra) => call('describe_table', table, async () => describeTable(await db(), table), extra));

  server.registerTool('explain', {
    description: 'Show the query plan of a read-only statement (EXPLAIN without ANALYZE: the statement is not run).',
    inputSchema: { sql: z.string().min(1).max(100_000) },
  }, async ({ sql }, extra) => call('explain', sql, async () => explainQuery(await db(), sql), extra));

  server.registerTool('backup_status', {
    description: `Backups of ${opts.env} known to prodguard: count, newest, newest verified (restored and checked).`,
    inputSchema: {},
  }, async (extra) => call('backup_status', '', () => backupStatus(ctx, opts.env), extra));

  server.registerTool('deploy_status', {
    description: 'Migrations in the repository and the state of the staging-first / approval / CI-deploy rules.',
    inputSchema: {},
  }, async (extra) => call('deploy_status', '', () => deployStatus(ctx), extra));

  server.registerTool('request_change', {
    description: 'Propose a schema or data change: writes a new migration file (linted) for review, staging and two approvals. Never applies anything.',
    inputSchema: { name: z.string().min(1).describe('short snake_case name, e.g. add_orders_index'), sql: z.string().min(1).max(1_000_000).describe('at most 1,000,000 characters'), reason: z.string().min(1).max(2000) },
  }, async ({ name, sql, reason }, extra) => call('request_change', `${name}: ${reason}`, () => requestChange(ctx, { name, sql, reason }), extra));

  return {
    server,
    async close() {
      if (client) await (await client.catch(() => null))?.end().catch(() => undefined);
      await server.close();
    },
  };
}

/** Where query/describe/explain connect: --url, else the shadow with readFrom, else the gateway or env's URL. */
async function databaseUrl(ctx: Context, opts: McpOptions): Promise<string> {
  if (opts.url) return opts.url;
  if (opts.readFrom) {
    // A gateway URL would decide for itself where reads go; refuse the ambiguity rather than guess.
    if (process.env.PRODGUARD_GATEWAY_URL) throw new UsageError('--read-from connects to the shadow directly; unset PRODGUARD_GATEWAY_URL, or drop --read-from and start the gateway with --read-from', 'mcp.read-from');
    return shadowReadUrl(ctx, opts.env, opts.readFrom);
  }
  return process.env.PRODGUARD_GATEWAY_URL ?? connectionUrl(ctx.loaded, opts.env);
}

/** Serves over stdio until the client closes stdin. */
export async function serveMcpStdio(ctx: Context, opts: McpOptions): Promise<void> {
  // A wrong --read-from fails at start, in one line, not on the agent's first query.
  if (opts.readFrom) await databaseUrl(ctx, opts);
  const { server, close } = buildMcpServer(ctx, opts);
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
    process.stdin.once('end', () => resolve());
  });
  await server.connect(transport);
  await closed;
  await close();
}
