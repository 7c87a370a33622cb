/**
 * Demo chapter: safe production access. An agent asks production a question through
 * `prodguard mcp` (which goes through the gateway as a read-only login), a DELETE sent through the
 * gateway gets a PostgreSQL error, and after `prodguard lockdown apply` the database itself
 * refuses DROP TABLE from a direct connection that holds the full production password.
 */
import pg from 'pg';
import type { DemoChapter } from '../types.js';
import { connectionUrl } from '../../config/connection.js';
import { connect } from '../../pg/client.js';
import { addUser, generatePassword } from '../../gateway/users.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { applyLockdown } from '../../lockdown/lockdown.js';

export const accessChapter: DemoChapter = {
  id: 'access',
  title: 'Safe production access: gateway, MCP for agents, lockdown in the database',
  async run(demo) {
    const { startGateway } = await import('../../gateway/start.js');
    const { buildMcpServer } = await import('../../mcp/server.js');
    const ctx = demo.ctx;
    const store = await ctx.store();

    const password = generatePassword();
    demo.showCommand('prodguard gateway user add dev --member dev');
    await addUser(store, ctx.loaded.config.team, { name: 'dev', member: 'dev', password, createdBy: 'demo' });
    demo.showCommand('prodguard gateway --env production --listen 127.0.0.1:0');
    const gw = await startGateway(ctx, { env: 'production', listen: '127.0.0.1:0' });
    demo.onCleanup(() => gw.gateway.close());
    const db = new URL(connectionUrl(ctx.loaded, 'production')).pathname.slice(1) || 'postgres';
    const gatewayUrl = `postgresql://dev:${encodeURIComponent(password)}@127.0.0.1:${gw.port}/${db}?sslmode=no-verify`;
    demo.say(`The gateway holds the production password; dev logs in with a personal SCRAM password over TLS (port ${gw.port}).`);

    // The agent's side: an MCP client talking to `prodguard mcp`, which uses the gateway.
    const { server, close } = buildMcpServer(ctx, { env: 'production', url: gatewayUrl });
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await server.connect(serverSide);
    const agent = new Client({ name: 'demo-agent', version: '1' });
    await agent.connect(clientSide);
    try {
      demo.showCommand(`(agent → prodguard mcp) query: SELECT count(*) FROM businesses`);
      const r = (await agent.callTool({ name: 'query', arguments: { sql: 'SELECT count(*)::int AS businesses FROM businesses' } })) as { content: Array<{ text: string }>; isError?: boolean };
      if (r.isError) throw new Error(`the agent's read-only query failed: ${r.content[0].text}`);
      demo.say(`  → ${JSON.stringify((JSON.parse(r.content[0].text) as { rows: unknown[] }).rows[0])}`);
      demo.showCommand(`(agent → prodguard mcp) query: DELETE FROM orders`);
      const w = (await agent.callTool({ name: 'query', arguments: { sql: 'DELETE FROM orders' } })) as { content: Array<{ text: string }>; isError?: boolean };
      if (!w.isError) throw new Error('prodguard mcp let a DELETE through');
      demo.say(`  → ${w.content[0].text.split('.')[0]}`);
    } finally {
      await agent.close();
      await close();
    }

    // A human with psql (here node-postgres) through the gateway.
    demo.showCommand(`psql "host=127.0.0.1 port=${gw.port} user=dev sslmode=require" -c "DELETE FROM orders WHERE id < 100"`);
    const c = new pg.Client({ connectionString: gatewayUrl.replace(/\?.*/, ''), ssl: { rejectUnauthorized: false } });
    c.on('error', () => undefined);
    await c.connect();
    try {
      await c.query('DELETE FROM orders WHERE id < 100');
      throw new Error('the gateway let a DELETE through');
    } catch (err) {
      const e = err as { code?: string; message: string };
      if (e.code !== '25006') throw err;
      demo.say(`  ERROR ${e.code}: ${e.message}`);
    } finally {
      await c.end();
    }

    // The last wall: the database itself, against a client that bypasses everything.
    demo.showCommand('prodguard lockdown apply --env production');
    const l = ctx.loaded.config.lockdown;
    const url = connectionUrl(ctx.loaded, 'production');
    await applyLockdown(url, store, 'production', { schemas: l.schemas, applicationRoles: l.applicationRoles, readOnlyRole: l.readOnlyRole, deployerRole: l.deployerRole }, 'demo');
    await ctx.audit({ action: 'lockdown.apply', command: 'lockdown apply --env production', target: 'production', verdict: 'ok', reason: 'demo' });
    demo.showCommand('psql "$PRODUCTION_DATABASE_URL" -c "DROP TABLE orders"   # full password, no gateway');
    const direct = await connect(url);
    try {
      await direct.query('DROP TABLE orders');
      throw new Error('lockdown let DROP TABLE through');
    } catch (err) {
      const e = err as { code?: string; message: string };
      if (e.code !== '42501') throw err;
      demo.say(`  ERROR ${e.code}: ${e.message}`);
    } finally {
      await direct.end();
    }
    demo.say('Every statement above is in the gateway audit log (.prodguard/gateway-audit.jsonl) with who, from where and the verdict.');
  },
};
