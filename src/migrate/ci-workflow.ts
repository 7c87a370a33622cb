/**
 * `migrate ci --github|--gitlab`: the CI pipeline, safe by construction.
 *   - Pull-request jobs lint the migrations and get no secret at all: a pull request's code
 *     (and its dependencies' install scripts) never sees a staging or production URL.
 *   - Staging is applied on the default branch only, in the `staging` environment.
 *   - The production deploy runs in the protected `production` environment (required reviewers
 *     there are an extra human gate), checks out the default branch, installs with
 *     `npm ci --ignore-scripts`, and proves who it is with the platform's OIDC token
 *     (`id-token: write` / GitLab `id_tokens`), which `migrate deploy` verifies against the
 *     policy in force. Every job shares the team store (state.store: postgres), so the deploy job
 *     sees the requests, approvals and policy the others recorded, and anchors its audit records
 *     there before the runner disappears; a signed audit checkpoint follows the deploy.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { LoadedConfig } from '../config/load.js';
import { UsageError } from '../errors.js';

export const WORKFLOW_PATH = '.github/workflows/prodguard.yml';
export const GITLAB_PATH = '.gitlab-ci.yml';

export interface WorkflowOptions {
  staging: string;
  production: string;
  deployIdentity: string;
  /** Variable names holding the connection URLs (the environments' urlEnv). */
  stagingUrlEnv: string;
  productionUrlEnv: string;
  /** Variable of the team store (state.urlEnv): staging passes, requests and the policy reach the deploy job. */
  stateUrlEnv: string;
  /** OIDC audience the policy pins. */
  audience?: string;
  branch?: string;
  node?: string;
}

export function githubWorkflow(opts: WorkflowOptions): string {
  const branch = opts.branch ?? 'main';
  const { staging, production } = opts;
  const prodVar = opts.productionUrlEnv;
  const stagVar = opts.stagingUrlEnv;
  const stateVar = opts.stateUrlEnv;
  const node = opts.node ?? '20';
  const setup = (ref: boolean) => `      - uses: actions/checkout@v4${ref ? `
        with:
          ref: \${{ github.event.repository.default_branch }}
          persist-credentials: false` : `
        with:
          persist-credentials: false`}
      - uses: actions/setup-node@v4
        with:
          node-version: '${node}'
      - run: npm ci --ignore-scripts`;
  return `# Written by \`prodguard migrate ci --github\`. Production deploys happen only here.
# Pull-request jobs get no secrets; the deploy job runs in the protected "production" environment
# (add required reviewers there) and proves its identity with GitHub's OIDC token.
name: prodguard
on:
  pull_request:
  push:
    branches: [${branch}]

permissions:
  contents: read

concurrency:
  group: prodguard-\${{ github.ref }}
  cancel-in-progress: false

jobs:
  lint:
    if: github.event_name == 'pull_request'
    runs-on: ubuntu-latest
    permissions:
      contents: read
      security-events: write
    steps:
${setup(false)}
      - name: Lint migrations (SARIF)
        run: npx prodguard lint --format sarif > prodguard.sarif || true
      - name: Upload SARIF
        uses: github/codeql-action/upload-sarif@v3
        with:
          sarif_file: prodguard.sarif
      - name: Lint migrations (fail on errors)
        run: npx prodguard lint

  apply-staging:
    if: github.event_name == 'push' && github.ref == 'refs/heads/${branch}'
    runs-on: ubuntu-latest
    environment: staging
    permissions:
      contents: read
    steps:
${setup(true)}
      - name: Apply to ${staging}
        run: npx prodguard migrate apply --env ${staging}
        env:
          ${stagVar}: \${{ secrets.${stagVar} }}
          ${stateVar}: \${{ secrets.${stateVar} }}

  deploy-production:
    needs: apply-staging
    if: github.event_name == 'push' && github.ref == 'refs/heads/${branch}'
    runs-on: ubuntu-latest
    environment: production
    permissions:
      contents: read
      id-token: write
    steps:
${setup(true)}
      - name: Deploy to ${production} (policy, OIDC identity, staging evidence, approvals, verified backup, apply)
        run: npx prodguard migrate deploy --env ${production}
        env:
          PRODGUARD_ACTOR: ${opts.deployIdentity}
          ${prodVar}: \${{ secrets.${prodVar} }}
          ${stagVar}: \${{ secrets.${stagVar} }}
          ${stateVar}: \${{ secrets.${stateVar} }}
          PRODGUARD_AGE_IDENTITY: \${{ secrets.PRODGUARD_AGE_IDENTITY }}
      - name: Verify ${production}
        run: npx prodguard migrate verify --env ${production}
        env:
          ${prodVar}: \${{ secrets.${prodVar} }}
          ${stagVar}: \${{ secrets.${stagVar} }}
          ${stateVar}: \${{ secrets.${stateVar} }}
      - name: Signed audit checkpoint
        if: always()
        run: |
          umask 077
          printf '%s\\n' "$PRODGUARD_CHECKPOINT_KEY" > "$RUNNER_TEMP/checkpoint.key"
          npx prodguard audit checkpoint --key "$RUNNER_TEMP/checkpoint.key"
        env:
          PRODGUARD_CHECKPOINT_KEY: \${{ secrets.PRODGUARD_CHECKPOINT_KEY }}
          ${stateVar}: \${{ secrets.${stateVar} }}
`;
}

/**
 * GitLab: the same three jobs. Secrets are CI/CD variables marked protected and scoped to the
 * staging / production environments, so merge-request pipelines (unprotected refs) never get
 * them; the deploy job asks for an OIDC token with `id_tokens`.
 */
export function gitlabPipeline(opts: WorkflowOptions): string {
  const branch = opts.branch ?? 'main';
  const { staging, production } = opts;
  const aud = opts.audience ?? 'prodguard';
  return `# Written by \`prodguard migrate ci --gitlab\`. Production deploys happen only here.
# Define ${opts.stagingUrlEnv}, ${opts.productionUrlEnv}, ${opts.stateUrlEnv}, PRODGUARD_AGE_IDENTITY and PRODGUARD_CHECKPOINT_KEY
# as *protected* variables scoped to their environments: merge-request pipelines never receive them.
image: node:${opts.node ?? '20'}

stages: [lint, staging, deploy]

lint:
  stage: lint
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
  script:
    - npm ci --ignore-scripts
    - npx prodguard lint

apply-staging:
  stage: staging
  environment: staging
  rules:
    - if: $CI_COMMIT_BRANCH == "${branch}" && $CI_COMMIT_REF_PROTECTED == "true"
  script:
    - npm ci --ignore-scripts
    - npx prodguard migrate apply --env ${staging}

deploy-production:
  stage: deploy
  environment: production
  needs: [apply-staging]
  rules:
    - if: $CI_COMMIT_BRANCH == "${branch}" && $CI_COMMIT_REF_PROTECTED == "true"
  id_tokens:
    PRODGUARD_OIDC_TOKEN:
      aud: ${aud}
  variables:
    PRODGUARD_ACTOR: ${opts.deployIdentity}
  script:
    - npm ci --ignore-scripts
    - npx prodguard migrate deploy --env ${production}
    - npx prodguard migrate verify --env ${production}
  after_script:
    - umask 077 && printf '%s\\n' "$PRODGUARD_CHECKPOINT_KEY" > checkpoint.key && npx prodguard audit checkpoint --key checkpoint.key; rm -f checkpoint.key
`;
}

function optionsFor(loaded: LoadedConfig, opts: { staging: string; production: string }): WorkflowOptions {
  const c = loaded.config;
  const urlEnv = (env: string) => c.environments[env].urlEnv ?? `${env.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_DATABASE_URL`;
  return {
    staging: opts.staging,
    production: opts.production,
    deployIdentity: c.migrations.deployIdentity,
    stagingUrlEnv: urlEnv(opts.staging),
    productionUrlEnv: urlEnv(opts.production),
    stateUrlEnv: c.state.urlEnv ?? 'PRODGUARD_STATE_URL',
    audience: c.policy.oidc?.audience,
    branch: c.policy.oidc?.provider === 'gitlab' ? c.policy.oidc.ref : c.policy.oidc?.ref.replace(/^refs\/heads\//, ''),
  };
}

function write(loaded: LoadedConfig, rel: string, text: string, force?: boolean): string {
  const file = join(loaded.root, rel);
  if (existsSync(file) && !force) throw new UsageError(`${rel} already exists; pass --force to overwrite it`, 'ci.exists');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
}

export function writeGithubWorkflow(loaded: LoadedConfig, opts: { force?: boolean; staging: string; production: string }): string {
  return write(loaded, WORKFLOW_PATH, githubWorkflow(optionsFor(loaded, opts)), opts.force);
}

export function writeGitlabPipeline(loaded: LoadedConfig, opts: { force?: boolean; staging: string; production: string }): string {
  return write(loaded, GITLAB_PATH, gitlabPipeline(optionsFor(loaded, opts)), opts.force);
}
