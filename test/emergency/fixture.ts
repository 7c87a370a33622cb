/**
 * A project whose production database lives on a throw-away cluster: a team with two seniors
 * (alice, bob) and a developer (dave), each with an ed25519 key; encrypted local backups; the
 * lockdown installed; a notification webhook pointed at a local receiver. The team is pinned as the
 * policy in force (alice signs `policy init`), since break-glass trusts only that, unless `pin: false`.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { makeProject } from '../helpers/cli.js';
import { createDatabase, sql } from '../helpers/pg.js';
import type { Cluster } from '../../src/pg/cluster.js';
import { generateKeys } from '../../src/migrate/keys.js';
import { openContext } from '../../src/context.js';
import { initPolicy } from '../../src/policy/rotate.js';

export interface EmergencyProject {
  dir: string;
  prodUrl: string;
  keys: Record<'alice' | 'bob' | 'dave', string>;
  env: Record<string, string>;
  config: Record<string, unknown>;
  writeConfig(c: Record<string, unknown>): void;
  cleanup(): void;
}

export async function emergencyProject(cluster: Cluster, name: string, extra: Record<string, unknown> = {}, opts: { pin?: boolean } = {}): Promise<EmergencyProject> {
  const prodUrl = await createDatabase(cluster, `${name}_prod`);
  await sql(prodUrl, `CREATE TABLE orders (id int PRIMARY KEY, status text); INSERT INTO orders SELECT g, 'open' FROM generate_series(1, 50) g;
    CREATE TABLE scratch (id int);`);
  const p = makeProject({});
  const keys = {} as Record<'alice' | 'bob' | 'dave', string>;
  const pubs = {} as Record<string, string>;
  for (const n of ['alice', 'bob', 'dave'] as const) {
    const k = generateKeys({ name: n, outDir: join(p.dir, '.keys') });
    keys[n] = k.privateKeyFile;
    pubs[n] = k.publicKey;
  }
  const identity = await generateIdentity();
  const recipient = await identityToRecipient(identity);
  const urlVar = `${name.toUpperCase()}_PROD_URL`;
  const config: Record<string, unknown> = {
    version: 1,
    project: { name: 'acme' },
    environments: { production: { kind: 'production', urlEnv: urlVar } },
    team: [
      { name: 'alice', role: 'senior', publicKey: pubs.alice },
      { name: 'bob', role: 'senior', publicKey: pubs.bob },
      { name: 'dave', role: 'developer', publicKey: pubs.dave },
    ],
    backup: { encryption: { recipients: [recipient] }, destinations: [{ name: 'local', type: 'local', path: 'backups' }] },
    gateway: { listen: '127.0.0.1:0' },
    ...extra,
  };
  const writeConfig = (c: Record<string, unknown>) => writeFileSync(join(p.dir, 'prodguard.yaml'), stringify(c));
  writeConfig(config);
  const env = { [urlVar]: prodUrl, PRODGUARD_AGE_IDENTITY: identity };
  Object.assign(process.env, env);
  if (opts.pin !== false) {
    const ctx = openContext({ cwd: p.dir });
    try {
      await initPolicy(ctx, { keyFile: keys.alice });
    } finally {
      await ctx.close();
    }
  }
  return { dir: p.dir, prodUrl, keys, env, config, writeConfig, cleanup: p.cleanup };
}
