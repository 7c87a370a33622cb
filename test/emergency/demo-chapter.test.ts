import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { makeProject } from '../helpers/cli.js';
import { sharedCluster, createDatabase, sql } from '../helpers/pg.js';
import { emergencyChapter } from '../../src/demo/chapters/emergency.js';
import { recoveryChapter } from '../../src/demo/chapters/recovery.js';
import { DEMO_SCHEMA_SQL } from '../../src/demo/sql/schema.js';
import { DEMO_SEED_SQL } from '../../src/demo/sql/seed.js';
import { standInDemo } from '../helpers/demo.js';

const cluster = sharedCluster({ name: 'prodguard-test-emergency-demo' });
const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

test('the emergency demo chapter: break-glass with its backup, a fix through the gateway, the webhook, the runbook; then the recovery chapter: a bad DELETE under it undone by PITR, break-glass ended', async () => {
  const prodUrl = await createDatabase(cluster(), 'edemo_prod');
  await sql(prodUrl, DEMO_SCHEMA_SQL);
  await sql(prodUrl, DEMO_SEED_SQL);
  const identity = await generateIdentity();
  const p = makeProject({});
  cleanups.push(() => p.cleanup());
  writeFileSync(join(p.dir, 'prodguard.yaml'), stringify({
    version: 1,
    project: { name: 'qwikker' },
    environments: { production: { kind: 'production', urlEnv: 'EDEMO_PROD_URL' } },
    team: [{ name: 'alice', role: 'senior' }],
    // The chapter pins sam as the only keyed senior when no policy is in force yet.
    policy: { threshold: 1 },
    backup: { encryption: { recipients: [await identityToRecipient(identity)] }, destinations: [{ name: 'local', type: 'local', path: 'backups' }] },
  }));
  const env = { EDEMO_PROD_URL: prodUrl, PRODGUARD_AGE_IDENTITY: identity };
  Object.assign(process.env, env);
  const { demo, lines, cleanups: chapterCleanups, ctx } = standInDemo({ projectDir: p.dir, production: cluster(), env });
  cleanups.push(async () => {
    for (const fn of chapterCleanups.reverse()) await fn();
    await ctx().close();
  });
  await emergencyChapter.run(demo);
  // The story goes on in the recovery chapter: the DELETE under break-glass, PITR, the grant ended.
  await recoveryChapter.run(demo);
  const text = lines.join('\n');
  assert.match(text, /→ open until .* \(grant grant-[0-9a-f-]+\); backup \d{8}T\d{6}Z-[0-9a-f]{6} verified first/);
  assert.match(text, /webhook received: break-glass\.opened — sam opened break-glass/);
  assert.match(text, /UPDATE 1 {3}\(audited/);
  assert.match(text, /DELETE 6000 +\(the gateway allowed it: the grant is open/);
  assert.match(text, /production has 6000 orders again \(6000 before the DELETE\)/);
  assert.match(text, /break-glass end --env production[^\n]*\n[^\n]*grant revoked/);
  assert.match(text, /ERROR 25006: prodguard gateway/);
  assert.match(text, /\| 1 \| sam \| on-call senior \| \+1 555 0100/);
  assert.match(text, /prodguard restore "\$BACKUP" --env production --to production --replace/);
  assert.equal((await sql<{ n: string }>(prodUrl, 'SELECT legacy_note AS n FROM orders WHERE id = 1'))[0].n, 'fixed during incident');
});
