/**
 * A project with staging and production databases on one shared cluster, a team of four
 * (alice, bob, carol senior; dave developer) with generated keys, local backups (unencrypted:
 * throw-away data), and migrations in migrations/.
 */
import { readFileSync, writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { makeProject } from '../helpers/cli.js';
import { createDatabase, sql } from '../helpers/pg.js';
import type { Cluster } from '../../src/pg/cluster.js';
import { openContext, type Context } from '../../src/context.js';
import { generateKeys } from '../../src/migrate/keys.js';
import { initPolicy } from '../../src/policy/rotate.js';
import { enrollEnvironment } from '../../src/policy/environment-identity.js';
import { startLocalIssuer, type LocalIssuer } from '../../src/policy/local-issuer.js';
import { requestChange } from '../../src/migrate/request.js';
import { approveChange } from '../../src/migrate/approve.js';

export const REPOSITORY = 'acme/app';

export const INIT_SQL = `CREATE TABLE items (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL, price numeric NOT NULL);
CREATE TABLE users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT NULL UNIQUE, full_name text, phone text);
`;

export const PEOPLE = ['alice', 'bob', 'carol', 'dave'] as const;

export interface MigrateFixture {
  dir: string;
  prodUrl: string;
  stagingUrl: string;
  keyFile(name: (typeof PEOPLE)[number]): string;
  publicKey(name: (typeof PEOPLE)[number]): string;
  writeMigration(file: string, text: string): void;
  removeMigration(file: string): void;
  clearApprovals(): void;
  ctx(): Context;
  updateConfig(mutate: (raw: Record<string, any>) => void): Promise<void>;
  env: Record<string, string>;
  /** The stand-in CI platform whose issuer the pinned policy names. */
  issuer: LocalIssuer;
  /** A valid deploy token of the team's CI job. */
  ciToken(): Promise<string>;
  cleanup(): Promise<void>;
}

export async function migrateFixture(cluster: Cluster, name: string, opts: { pinPolicy?: boolean; mutateConfig?: (raw: Record<string, any>) => void } = {}): Promise<MigrateFixture> {
  const prodUrl = await createDatabase(cluster, `${name}_prod`);
  const stagingUrl = await createDatabase(cluster, `${name}_staging`);
  const p = makeProject({ 'migrations/0001_init.sql': INIT_SQL });
  const keysDir = join(p.dir, 'keys');
  const issuer = await startLocalIssuer(undefined);
  const keys = Object.fromEntries(PEOPLE.map((n) => [n, generateKeys({ name: n, outDir: keysDir })]));
  const config = {
    version: 1,
    project: { name: 'acme', migrationsDir: 'migrations' },
    environments: {
      staging: { kind: 'staging', urlEnv: `${name.toUpperCase()}_STAGING_URL` },
      production: { kind: 'production', urlEnv: `${name.toUpperCase()}_PROD_URL` },
    },
    team: [
      { name: 'alice', role: 'senior', publicKey: keys.alice.publicKey },
      { name: 'bob', role: 'senior', publicKey: keys.bob.publicKey },
      { name: 'carol', role: 'senior', publicKey: keys.carol.publicKey },
      { name: 'dave', role: 'developer', publicKey: keys.dave.publicKey },
    ],
    backup: {
      encryption: { noEncrypt: true },
      destinations: [{ name: 'local', type: 'local', path: join(p.dir, 'backups') }],
    },
    migrations: { lockTimeout: '2s', statementTimeout: '30s', approvals: { required: 2, expireAfter: '72h', dir: '.prodguard/approvals' } },
    policy: {
      oidc: { provider: 'github', issuer: issuer.issuer, audience: 'prodguard', repository: REPOSITORY, ref: 'refs/heads/main', environment: 'production', workflow: `${REPOSITORY}/.github/workflows/prodguard.yml` },
    },
    staging: {
      masking: [
        { table: 'users', column: 'email', strategy: 'email' },
        { table: 'public.users', column: 'full_name', strategy: 'name' },
        { table: 'users', column: 'phone', strategy: 'phone' },
      ],
    },
  };
  opts.mutateConfig?.(config);
  writeFileSync(join(p.dir, 'prodguard.yaml'), stringify(config));
  const env = { [`${name.toUpperCase()}_STAGING_URL`]: stagingUrl, [`${name.toUpperCase()}_PROD_URL`]: prodUrl };
  Object.assign(process.env, env);
  let ctx = openContext({ cwd: p.dir });
  // The team's policy is pinned once by a senior, as a real team would (prodguard policy init).
  if (opts.pinPolicy !== false) {
    // Both databases get their identity (prodguard env enroll), pinned with the first policy.
    await enrollEnvironment(ctx, 'staging');
    await enrollEnvironment(ctx, 'production');
    await ctx.close();
    ctx = openContext({ cwd: p.dir });
    await initPolicy(ctx, { keyFile: keys.alice.privateKeyFile });
  }
  return {
    dir: p.dir,
    prodUrl,
    stagingUrl,
    env,
    issuer,
    ciToken: () => issuer.token(issuer.githubClaims(REPOSITORY)),
    keyFile: (n) => keys[n].privateKeyFile,
    publicKey: (n) => keys[n].publicKey,
    writeMigration: (file, text) => writeFileSync(join(p.dir, 'migrations', file), text),
    removeMigration: (file) => rmSync(join(p.dir, 'migrations', file), { force: true }),
    clearApprovals() {
      rmSync(join(p.dir, '.prodguard/approvals'), { recursive: true, force: true });
      mkdirSync(join(p.dir, '.prodguard/approvals'), { recursive: true });
    },
    ctx: () => ctx,
    async updateConfig(mutate) {
      const file = join(p.dir, 'prodguard.yaml');
      const raw = parse(readFileSync(file, 'utf8')) as Record<string, any>;
      mutate(raw);
      writeFileSync(file, stringify(raw));
      await ctx.close();
      ctx = openContext({ cwd: p.dir });
    },
    async cleanup() {
      await ctx.close();
      await issuer.close();
      p.cleanup();
    },
  };
}

export { sql };

/**
 * Runs fn as the team's deploy job: CI=true and the CI platform's signed token (the local issuer
 * the pinned policy names — that token, not CI=true, proves the run). Restores the environment.
 */
export async function asCi<T>(fx: MigrateFixture, fn: () => Promise<T>, actor = 'ci', token?: string): Promise<T> {
  const saved = { CI: process.env.CI, PRODGUARD_ACTOR: process.env.PRODGUARD_ACTOR, PRODGUARD_OIDC_TOKEN: process.env.PRODGUARD_OIDC_TOKEN };
  process.env.CI = 'true';
  process.env.PRODGUARD_ACTOR = actor;
  process.env.PRODGUARD_OIDC_TOKEN = token ?? (await fx.ciToken());
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
}

/** alice requests the change for production, bob and carol approve it; its hash. */
export async function requestAndApprove(fx: MigrateFixture): Promise<string> {
  process.env.PRODGUARD_ACTOR = 'alice';
  try {
    const { change } = await requestChange(fx.ctx(), 'production', { keyFile: fx.keyFile('alice') });
    await approveChange(fx.ctx(), change.hash, { keyFile: fx.keyFile('bob') });
    await approveChange(fx.ctx(), change.hash, { keyFile: fx.keyFile('carol') });
    return change.hash;
  } finally {
    delete process.env.PRODGUARD_ACTOR;
  }
}
