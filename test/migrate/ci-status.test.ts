import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { makeProject, minimalConfig, runCli } from '../helpers/cli.js';
import { openContext } from '../../src/context.js';
import { checks } from '../../src/status/checks/migrate.js';
import { generateKeys } from '../../src/migrate/keys.js';

const cleanups: Array<() => void> = [];
after(() => cleanups.forEach((c) => c()));

test('migrate ci --github writes a workflow: lint with SARIF on PRs (no secrets), staging on merge, production job with environment: production', async () => {
  const p = makeProject({ 'prodguard.yaml': minimalConfig() });
  cleanups.push(p.cleanup);
  const r = await runCli(['migrate', 'ci', '--github'], { cwd: p.dir });
  assert.equal(r.code, 0, r.stderr);
  const wf = parse(readFileSync(join(p.dir, '.github/workflows/prodguard.yml'), 'utf8'));
  const steps = (job: string) => wf.jobs[job].steps.map((s: { run?: string; uses?: string }) => s.run ?? s.uses).join('\n');
  assert.match(steps('lint'), /prodguard lint --format sarif/);
  assert.match(steps('lint'), /upload-sarif/);
  // The pull-request job runs the PR's own code: it gets no secret (the plan against production moved out of it).
  assert.doesNotMatch(JSON.stringify(wf.jobs.lint), /secrets\./);
  assert.match(wf.jobs['apply-staging'].if, /push/);
  assert.match(steps('apply-staging'), /prodguard migrate apply --env staging/);
  assert.equal(wf.jobs['deploy-production'].environment, 'production');
  assert.deepEqual(wf.jobs['deploy-production'].needs, 'apply-staging');
  assert.match(steps('deploy-production'), /prodguard migrate deploy --env production/);
  assert.equal(wf.jobs['deploy-production'].steps.find((s: { env?: Record<string, string> }) => s.env?.PRODUCTION_DATABASE_URL).env.PRODUCTION_DATABASE_URL, '${{ secrets.PRODUCTION_DATABASE_URL }}');
  const again = await runCli(['migrate', 'ci', '--github'], { cwd: p.dir });
  assert.equal(again.code, 2);
  assert.match(again.stderr, /already exists; pass --force/);
  const none = await runCli(['migrate', 'ci'], { cwd: p.dir });
  assert.equal(none.code, 2);
  const ctx = openContext({ cwd: p.dir });
  try {
    const ci = checks.find((c) => c.id === 'migrate.ci')!;
    const res = await ci.run(ctx);
    assert.equal(res.state, 'ok');
    assert.match(res.reason, /CI workflow present; production: no production deploy yet/);
  } finally {
    await ctx.close();
  }
});

test('status rule 4 wants at least two seniors with usable public keys; rule 3 wants a staging environment', async () => {
  const p = makeProject({});
  cleanups.push(p.cleanup);
  const k1 = generateKeys({ name: 'a', outDir: join(p.dir, 'k') });
  const k2 = generateKeys({ name: 'b', outDir: join(p.dir, 'k') });
  const run = async (team: string, envs = minimalConfig(team)) => {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(p.dir, 'prodguard.yaml'), envs);
    const ctx = openContext({ cwd: p.dir });
    try {
      return await Promise.all(checks.map((c) => c.run(ctx)));
    } finally {
      await ctx.close();
    }
  };
  const one = await run(`team:\n  - { name: a, role: senior, publicKey: "${k1.publicKey}" }\n  - { name: b, role: developer, publicKey: "${k2.publicKey}" }\n`);
  assert.equal(one[1].state, 'failing');
  assert.match(one[1].reason, /1 senior\(s\) with a public key \(a\); need at least 2/);
  assert.equal(one[0].state, 'missing', one[0].reason); // staging configured but never passed / refreshed
  const two = await run(`team:\n  - { name: a, role: senior, publicKey: "${k1.publicKey}" }\n  - { name: b, role: senior, publicKey: "${k2.publicKey}" }\n`);
  assert.equal(two[1].state, 'ok');
  const broken = await run(`team:\n  - { name: a, role: senior, publicKey: "${k1.publicKey}" }\n  - { name: b, role: senior, publicKey: "ed25519:AAAA" }\n`);
  assert.equal(broken[1].state, 'failing');
  const noStaging = await run('', `version: 1\nenvironments:\n  production:\n    kind: production\n    urlEnv: P_URL\n`);
  assert.equal(noStaging[0].state, 'missing');
  assert.match(noStaging[0].reason, /no environment with kind: staging/);
});

test('migrate ci --gitlab writes a pipeline: lint on merge requests without variables, staging and an OIDC-proved deploy only on the protected default branch', async () => {
  const p = makeProject({ 'prodguard.yaml': minimalConfig() });
  cleanups.push(p.cleanup);
  const r = await runCli(['migrate', 'ci', '--gitlab'], { cwd: p.dir });
  assert.equal(r.code, 0, r.stderr);
  const gl = parse(readFileSync(join(p.dir, '.gitlab-ci.yml'), 'utf8'));
  assert.match(gl.lint.rules[0].if, /merge_request_event/);
  assert.equal(gl.lint.variables, undefined);
  assert.equal(gl['deploy-production'].environment, 'production');
  assert.deepEqual(gl['deploy-production'].id_tokens, { PRODGUARD_OIDC_TOKEN: { aud: 'prodguard' } });
  assert.match(gl['deploy-production'].rules[0].if, /CI_COMMIT_REF_PROTECTED == "true"/);
  for (const job of ['lint', 'apply-staging', 'deploy-production']) assert.equal(gl[job].script[0], 'npm ci --ignore-scripts');
  assert.ok(gl['deploy-production'].script.includes('npx prodguard migrate deploy --env production'));
  const both = await runCli(['migrate', 'ci', '--github', '--gitlab'], { cwd: p.dir });
  assert.equal(both.code, 2);
});
