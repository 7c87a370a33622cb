/**
 * The generated runbook: contacts in order, the project's real commands — pasted into a shell
 * (bash, with `prodguard` on PATH) they restore the latest backup into a new database and, under
 * break-glass, over production — communication templates, HTML output, and status rule 6 that
 * fails without contacts or a communication plan. The incident timeline merges notes with the
 * audit records of its period.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sharedCluster, sql, createDatabase } from '../helpers/pg.js';
import { CLI, TSX, runCli } from '../helpers/cli.js';
import { emergencyProject, type EmergencyProject } from './fixture.js';
import { openContext } from '../../src/context.js';
import { createBackup } from '../../src/backup/create.js';

describe('prodguard runbook and incident', () => {
  const cluster = sharedCluster();
  // Staging on its own server: restoring onto production's server is refused by its system identifier (#15).
  const stagingCluster = sharedCluster({ name: 'prodguard-test-runbook-staging' });
  let p: EmergencyProject;
  let stagingUrl: string;
  let bin: string;
  const cli = (args: string[], actor = 'alice') => runCli(args, { cwd: p.dir, env: { ...p.env, PRODGUARD_ACTOR: actor } });

  before(async () => {
    stagingUrl = await createDatabase(stagingCluster(), 'rb_staging');
    p = await emergencyProject(cluster(), 'rb');
    p.config.environments = { production: { kind: 'production', urlEnv: 'RB_PROD_URL' }, staging: { kind: 'staging', urlEnv: 'RB_STAGING_URL' } };
    p.writeConfig(p.config);
    p.env.RB_STAGING_URL = stagingUrl;
    process.env.RB_STAGING_URL = stagingUrl;
    const ctx = openContext({ cwd: p.dir });
    await createBackup(ctx, { env: 'production', reason: 'nightly' });
    await ctx.close();
    bin = join(p.dir, '.bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'prodguard'), `#!/bin/sh\nexec "${process.execPath}" --import "${TSX}" "${CLI}" "$@"\n`);
    chmodSync(join(bin, 'prodguard'), 0o755);
  });
  after(() => p?.cleanup());

  it('without contacts or a communication plan, status fails rule 6 and the runbook says what is missing', async () => {
    const st = await cli(['status', '--json']);
    assert.match(st.stdout, /no recovery contacts \(runbook\.contacts\); no communication plan/);
    const rb = await cli(['runbook']);
    assert.equal(rb.code, 0, rb.stderr);
    assert.match(rb.stdout, /\*\*Incomplete:\*\* no recovery contacts/);
  });

  it('lists contacts in order with 24/7 numbers, escalation, key holders and the communication templates', async () => {
    p.writeConfig({
      ...p.config,
      runbook: {
        contacts: [
          { name: 'Alice Doe', role: 'on-call DBA', phone: '+49 170 0000001', escalateAfter: '15min' },
          { name: 'Bob Roe', role: 'CTO', phone: '+49 170 0000002', available: '24/7' },
        ],
        keyHolders: [{ name: 'Alice Doe', holds: 'age identity (1Password vault Ops)' }],
        communication: { internal: 'INCIDENT {what}; impact {impact}; next update {next_update}', customerEmail: 'Dear customer, {what}. {impact}. Next update: {next_update}.', statusPage: 'Degraded: {what}' },
      },
    });
    const rb = await cli(['runbook']);
    assert.equal(rb.code, 0, rb.stderr);
    assert.match(rb.stdout, /\| 1 \| Alice Doe \| on-call DBA \| \+49 170 0000001 \| — \| 24\/7 \| 15min \|\n\| 2 \| Bob Roe/);
    assert.match(rb.stdout, /Key holders: Alice Doe \(age identity \(1Password vault Ops\)\)/);
    assert.match(rb.stdout, /Latest backup: \d{8}T\d{6}Z-[0-9a-f]{6}/);
    assert.match(rb.stdout, /Dear customer, \{what\}/);
    assert.match(rb.stdout, /BACKUP=\d{8}T\d{6}Z-[0-9a-f]{6} .*\nprodguard restore "\$BACKUP" --env production --to staging --new-database production_check/);
    assert.doesNotMatch(rb.stderr, /incomplete: no recovery/);
    const html = await cli(['runbook', '--format', 'html']);
    assert.match(html.stdout, /^<!doctype html>/);
    assert.match(html.stdout, /<td>Alice Doe<\/td>/);
    const st = await cli(['status', '--json']);
    assert.match(st.stdout, /2 contact\(s\) in order, communication plan present/);
  });

  it('its restore commands, pasted into a shell, restore the latest backup into a new database and, under break-glass, over production', async () => {
    const rb = JSON.parse((await cli(['runbook', '--json'])).stdout) as { procedures: Array<{ title: string; commands: string[] }> };
    const restore = rb.procedures.find((x) => x.title === 'Restore the latest backup')!;
    await sql(p.prodUrl, `UPDATE orders SET status = 'corrupted'`);
    const r = spawnSync('bash', ['-e', '-c', restore.commands.join('\n')], {
      cwd: p.dir,
      encoding: 'utf8',
      env: { ...process.env, ...p.env, PATH: `${bin}:${process.env.PATH}`, PRODGUARD_ACTOR: 'alice', PRODGUARD_KEY: p.keys.alice, INCIDENT: 'orders corrupted by a bad script' },
      timeout: 240_000,
    });
    assert.equal(r.status, 0, r.stderr);
    const check = await sql<{ n: number }>(stagingUrl.replace(/\/rb_staging/, '/production_check'), `SELECT count(*)::int AS n FROM orders WHERE status = 'open'`);
    assert.equal(check[0].n, 50);
    const prod = await sql<{ n: number }>(p.prodUrl, `SELECT count(*)::int AS n FROM orders WHERE status = 'open'`);
    assert.equal(prod[0].n, 50, 'production is back to the backup');
    const list = JSON.parse((await cli(['break-glass', 'list', '--json'])).stdout) as Array<{ state: string }>;
    assert.deepEqual(list.map((x) => x.state), ['ended']);
  });

  it('the incident timeline merges notes with the audit records of its period', async () => {
    assert.equal((await cli(['incident', 'start', 'orders corrupted'])).code, 0);
    assert.equal((await cli(['incident', 'start', 'second one'])).code, 2);
    assert.equal((await cli(['incident', 'note', 'found the bad script, restoring'])).code, 0);
    assert.equal((await cli(['check', `psql "$RB_PROD_URL" -c 'DROP TABLE orders'`], 'dave')).code, 1);
    assert.equal((await cli(['incident', 'close'])).code, 0);
    assert.equal((await cli(['incident', 'note', 'too late'])).code, 2);
    const md = (await cli(['incident', 'export'])).stdout;
    assert.match(md, /^# Incident: orders corrupted/);
    assert.match(md, /\| alice \| note \| found the bad script, restoring \|/);
    assert.match(md, /\| dave \| guard\.check \(deny\) \| \[production\]/);
    assert.ok(md.indexOf('found the bad script') < md.indexOf('guard.check (deny)'), 'in time order');
  });
});
