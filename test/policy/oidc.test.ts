import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startLocalIssuer, githubDeployClaims, type LocalIssuer } from '../../src/policy/local-issuer.js';
import { proveCiIdentity, verifyCiToken, checkIssuerUrl } from '../../src/policy/oidc.js';
import type { OidcPolicy } from '../../src/policy/document.js';

let issuer: LocalIssuer;
let policy: OidcPolicy;
const REPO = 'acme/app';
before(async () => {
  issuer = await startLocalIssuer(githubDeployClaims(REPO));
  policy = { provider: 'github', issuer: issuer.issuer, audience: 'prodguard', repository: REPO, ref: 'refs/heads/main', environment: 'production', workflow: `${REPO}/.github/workflows/prodguard.yml` };
});
after(async () => {
  await issuer?.close();
});

test('a token the issuer signed for the team\'s deploy job proves the CI identity', async () => {
  const r = await proveCiIdentity(policy, { PRODGUARD_OIDC_TOKEN: await issuer.token() });
  assert.equal(r.ok, true, r.detail);
  assert.equal(r.identity?.subject, `repo:${REPO}:environment:production`);
  assert.match(r.identity?.workflow ?? '', /prodguard\.yml@refs\/heads\/main/);
});

test('attack: CI=true (and GITHUB_ACTOR, PRODGUARD_ACTOR=ci) on a laptop proves nothing', async () => {
  const r = await proveCiIdentity(policy, { CI: 'true', GITHUB_ACTIONS: 'true', GITHUB_ACTOR: 'ci', PRODGUARD_ACTOR: 'ci' });
  assert.equal(r.ok, false);
  assert.match(r.detail, /not running in CI: no OIDC token from the CI platform \(CI=true alone is not proof/);
});

test('the GitHub token request endpoint is used when the job has id-token: write; a wrong request token is refused', async () => {
  const ok = await proveCiIdentity(policy, issuer.githubEnv());
  assert.equal(ok.ok, true, ok.detail);
  const bad = await proveCiIdentity(policy, { ...issuer.githubEnv(), ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'guess' });
  assert.equal(bad.ok, false);
  assert.match(bad.detail, /refused an OIDC token \(HTTP 401\)/);
});

test('attack: a token signed with a key the issuer does not publish is rejected', async () => {
  const r = await proveCiIdentity(policy, { PRODGUARD_OIDC_TOKEN: await issuer.token({}, { foreignKey: true }) });
  assert.equal(r.ok, false);
  assert.match(r.detail, /OIDC token rejected: signature verification failed/);
});

test('a token for another repository, branch, environment, workflow, a pull request, another audience or expired is rejected with the claim named', async () => {
  const cases: Array<[Parameters<LocalIssuer['token']>, RegExp]> = [
    [[{ repository: 'mallory/fork' }], /repository is "mallory\/fork", the policy requires "acme\/app"/],
    [[{ ref: 'refs/heads/feature' }], /ref is "refs\/heads\/feature", the policy requires "refs\/heads\/main"/],
    [[{ environment: 'staging' }], /environment is "staging", the policy requires "production"/],
    [[{ environment: undefined }], /environment is missing/],
    [[{ job_workflow_ref: `${REPO}/.github/workflows/evil.yml@refs/heads/main` }], /job_workflow_ref is .*evil\.yml.*, the policy requires acme\/app\/\.github\/workflows\/prodguard\.yml@/],
    [[{ event_name: 'pull_request' }], /pull-request runs never deploy/],
    [[{}, { audience: 'someone-else' }], /OIDC token rejected: unexpected "aud" claim value/],
    [[{ iat: Math.floor(Date.now() / 1000) - 7200 }, { expiresIn: '-1h' }], /OIDC token rejected: "exp" claim timestamp check failed/],
    // w5c-068: issued in the year 2100 (a clock trick), or over a day ago though not expired.
    [[{ iat: 4102444800 }], /OIDC token rejected: "iat" claim timestamp check failed \(it should be in the past\)/],
    [[{ iat: Math.floor(Date.now() / 1000) - 90_000 }, { expiresIn: '1h' }], /OIDC token rejected: "iat" claim timestamp check failed \(too far in the past\)/],
  ];
  for (const [args, re] of cases) {
    const r = await proveCiIdentity(policy, { PRODGUARD_OIDC_TOKEN: await issuer.token(...args) });
    assert.equal(r.ok, false, `${JSON.stringify(args)} was accepted`);
    assert.match(r.detail, re);
  }
});

test('GitLab: project_path, protected ref and environment are checked', async () => {
  const gl: OidcPolicy = { provider: 'gitlab', issuer: issuer.issuer, audience: 'prodguard', repository: 'acme/app', ref: 'main', environment: 'production' };
  const claims = { sub: 'project_path:acme/app:ref_type:branch:ref:main', project_path: 'acme/app', ref: 'main', ref_protected: 'true', environment: 'production', repository: undefined };
  const ok = await verifyCiToken(await issuer.token(claims), gl);
  assert.equal(ok.subject, claims.sub);
  await assert.rejects(verifyCiToken(await issuer.token({ ...claims, ref_protected: 'false' }), gl), /ref_protected is not true/);
});

test('an issuer over plain http is refused unless it is loopback; a policy without a CI identity refuses deploys', async () => {
  assert.throws(() => checkIssuerUrl('http://token.example.com'), /must use https/);
  assert.doesNotThrow(() => checkIssuerUrl('https://token.actions.githubusercontent.com'));
  const r = await proveCiIdentity(null, { PRODGUARD_OIDC_TOKEN: await issuer.token() });
  assert.equal(r.ok, false);
  assert.match(r.detail, /the policy in force names no CI identity/);
});

test('ap-028: the pinned workflow must run from the pinned ref — prodguard.yml@refs/pull/7/merge or @refs/heads/dave is refused', async () => {
  for (const ref of ['refs/pull/7/merge', 'refs/heads/dave', 'refs/heads/main-evil']) {
    const r = await proveCiIdentity(policy, { PRODGUARD_OIDC_TOKEN: await issuer.token({ job_workflow_ref: `${REPO}/.github/workflows/prodguard.yml@${ref}` }) });
    assert.equal(r.ok, false, `${ref} was accepted`);
    assert.match(r.detail, new RegExp(`job_workflow_ref is ".*@${ref.replace(/\//g, '\\/')}", the policy requires acme\\/app\\/\\.github\\/workflows\\/prodguard\\.yml@refs\\/heads\\/main`));
  }
  // A central reusable workflow pinned with its own @ref must match exactly.
  const central: OidcPolicy = { ...policy, workflow: 'acme/workflows/.github/workflows/deploy.yml@refs/heads/main' };
  const ok = await proveCiIdentity(central, { PRODGUARD_OIDC_TOKEN: await issuer.token({ job_workflow_ref: 'acme/workflows/.github/workflows/deploy.yml@refs/heads/main' }) });
  assert.equal(ok.ok, true, ok.detail);
  const bad = await proveCiIdentity(central, { PRODGUARD_OIDC_TOKEN: await issuer.token({ job_workflow_ref: 'acme/workflows/.github/workflows/deploy.yml@refs/heads/other' }) });
  assert.equal(bad.ok, false);
});

test('ap-075: when the policy pins repository_id / repository_owner_id, a token of a re-created acme/app with other ids is refused', async () => {
  const pinned: OidcPolicy = { ...policy, repositoryId: '123456', repositoryOwnerId: '7890' };
  const good = await proveCiIdentity(pinned, { PRODGUARD_OIDC_TOKEN: await issuer.token({ repository_id: '123456', repository_owner_id: '7890' }) });
  assert.equal(good.ok, true, good.detail);
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ repository_id: '999999', repository_owner_id: '7890' }, /repository_id is "999999", the policy requires "123456"/],
    [{ repository_id: '123456', repository_owner_id: '666' }, /repository_owner_id is "666", the policy requires "7890"/],
    [{ repository_owner_id: '7890' }, /repository_id is missing/],
  ];
  for (const [claims, re] of cases) {
    const r = await proveCiIdentity(pinned, { PRODGUARD_OIDC_TOKEN: await issuer.token(claims) });
    assert.equal(r.ok, false, `${JSON.stringify(claims)} was accepted`);
    assert.match(r.detail, re);
  }
});

test('ap-076: config check refuses a plain-http issuer that is not loopback; https and loopback test issuers are accepted', async () => {
  const { checkConfigText } = await import('../../src/config/load.js');
  const { minimalConfig } = await import('../helpers/cli.js');
  const yaml = (issuerUrl: string) => minimalConfig(`policy:\n  oidc:\n    provider: github\n    issuer: ${issuerUrl}\n    repository: acme/app\n    ref: refs/heads/main\n`);
  const bad = checkConfigText(yaml('http://token.example.com'));
  assert.equal(bad.config, null);
  assert.match(bad.problems.map((p) => `${p.path}: ${p.message}`).join('\n'), /policy\.oidc\.issuer.*must use https/);
  for (const ok of ['https://token.actions.githubusercontent.com', 'http://127.0.0.1:58081', 'http://localhost:8080', 'http://[::1]:9000']) {
    const r = checkConfigText(yaml(ok));
    assert.deepEqual(r.problems, [], ok);
  }
  // A look-alike host is not loopback.
  assert.equal(checkConfigText(yaml('http://127.0.0.1.evil.example')).config, null);
});
