/**
 * A project whose production database lives on a throw-away cluster, a team (alice senior, dave
 * developer), gateway users for both, and a gateway started in-process on a free loopback port.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { makeProject } from '../helpers/cli.js';
import { createDatabase } from '../helpers/pg.js';
import type { Cluster } from '../../src/pg/cluster.js';
import { openContext, type Context } from '../../src/context.js';
import { addUser } from '../../src/gateway/users.js';
import { startGateway } from '../../src/gateway/start.js';
import type { Gateway } from '../../src/gateway/server.js';

export const PASSWORDS = { alice: 'alice-password-123', dave: 'dave-password-1234' };

export interface GatewayFixture {
  dir: string;
  prodUrl: string;
  ctx: Context;
  gateway: Gateway;
  port: number;
  certificate: string;
  /** URL to the gateway as a user (sslmode given, default require). */
  url(user: 'alice' | 'dave', sslmode?: string): string;
  auditFile: string;
  stop(): Promise<void>;
}

export async function gatewayFixture(cluster: Cluster, name: string, gatewayConfig: Record<string, unknown> = {}, setupSql = '', extraConfig: Record<string, unknown> = {}): Promise<GatewayFixture> {
  const prodUrl = await createDatabase(cluster, `${name}_prod`);
  if (setupSql) {
    const { sql } = await import('../helpers/pg.js');
    await sql(prodUrl, setupSql);
  }
  const p = makeProject({});
  const envVar = `${name.toUpperCase()}_PROD_URL`;
  const config = {
    version: 1,
    project: { name: 'acme' },
    environments: { production: { kind: 'production', urlEnv: envVar } },
    team: [
      { name: 'alice', role: 'senior' },
      { name: 'dave', role: 'developer' },
    ],
    gateway: { listen: '127.0.0.1:0', ...gatewayConfig },
    ...extraConfig,
  };
  writeFileSync(join(p.dir, 'prodguard.yaml'), stringify(config));
  process.env[envVar] = prodUrl;
  const ctx = openContext({ cwd: p.dir });
  const store = await ctx.store();
  await addUser(store, ctx.loaded.config.team, { name: 'alice', member: 'alice', password: PASSWORDS.alice, createdBy: 'test' });
  await addUser(store, ctx.loaded.config.team, { name: 'dave', member: 'dave', password: PASSWORDS.dave, createdBy: 'test' });
  const started = await startGateway(ctx, { env: 'production' });
  const dbName = `${name}_prod`;
  return {
    dir: p.dir,
    prodUrl,
    ctx,
    gateway: started.gateway,
    port: started.port,
    certificate: started.certificate,
    auditFile: join(p.dir, '.prodguard/gateway-audit.jsonl'),
    url: (user, sslmode = 'require') => `postgresql://${user}:${PASSWORDS[user]}@127.0.0.1:${started.port}/${dbName}?sslmode=${sslmode}`,
    async stop() {
      await started.gateway.close();
      await ctx.close();
      p.cleanup();
    },
  };
}
