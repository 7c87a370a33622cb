/**
 * `migrate ci --github`: writes .github/workflows/prodguard.yml — lint and plan on pull requests
 * (SARIF uploaded to code scanning), apply to staging on merge to the main branch, and the
 * production deploy as a separate job gated by the GitHub `production` environment (required
 * reviewers there are an extra human gate; the signed approvals are checked by prodguard itself).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { LoadedConfig } from '../config/load.js';
import { UsageError } from '../errors.js';

export const WORKFLOW_PATH = '.github/workflows/prodguard.yml';

export interface WorkflowOptions {
  staging: string;
  production: string;
  deployIdentity: string;
  /** Variable names holding the connection URLs (the environments' urlEnv). */
  stagingUrlEnv: string;
  productionUrlEnv: string;
  /** Variable of a shared PostgreSQL state store: staging passes must reach the deploy job. */
  stateUrlEnv: string;
  branch?: string;
  node?: string;
}

export function githubWorkflow(opts: WorkflowOptions): string {
  const branch = opts.branch ?? 'main';
  const staging = opts.staging;
  const production = opts.production;
  const prodVar = opts.productionUrlEnv;
  const stagVar = opts.stagingUrlEnv;
  const stateVar = opts.stateUrlEnv;
  return `# Written by \`prodguard migrate ci --github\`. Production deploys happen only here.
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
  lint-and-plan:
    if: github.event_name == 'pull_request'
    runs-on: ubuntu-latest
    permissions:
      contents: read
      security-events: write
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-node@v4
        with:
          node-version: '${opts.node ?? '20'}'
      - run: npm ci
      - name: Lint migrations (SARIF)
        run: npx prodguard lint --format sarif > prodguard.sarif || true
      - name: Upload SARIF
        uses: github/codeql-action/upload-sarif@v3
        with:
          sarif_file: prodguard.sarif
      - name: Lint migrations (fail on errors)
        run: npx prodguard lint
      - name: Plan against ${production}
        run: npx prodguard migrate plan --env ${production}
        env:
          ${prodVar}: \${{ secrets.${prodVar} }}

  apply-staging:
    if: github.event_name == 'push' && github.ref == 'refs/heads/${branch}'
    runs-on: ubuntu-latest
    environment: staging
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-node@v4
        with:
          node-version: '${opts.node ?? '20'}'
      - run: npm ci
      - name: Apply to ${staging}
        run: npx prodguard migrate apply --env ${staging}
        env:
          ${stagVar}: \${{ secrets.${stagVar} }}
          ${stateVar}: \${{ secrets.${stateVar} }}

  deploy-production:
    needs: apply-staging
    runs-on: ubuntu-latest
    environment: production
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-node@v4
        with:
          node-version: '${opts.node ?? '20'}'
      - run: npm ci
      - name: Deploy to ${production} (gate, pre-migration backup, apply, verify)
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
`;
}

export function writeGithubWorkflow(loaded: LoadedConfig, opts: { force?: boolean; staging: string; production: string }): string {
  const file = join(loaded.root, WORKFLOW_PATH);
  if (existsSync(file) && !opts.force) throw new UsageError(`${WORKFLOW_PATH} already exists; pass --force to overwrite it`, 'ci.exists');
  mkdirSync(dirname(file), { recursive: true });
  const c = loaded.config;
  const urlEnv = (env: string) => c.environments[env].urlEnv ?? `${env.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_DATABASE_URL`;
  writeFileSync(
    file,
    githubWorkflow({
      staging: opts.staging,
      production: opts.production,
      deployIdentity: c.migrations.deployIdentity,
      stagingUrlEnv: urlEnv(opts.staging),
      productionUrlEnv: urlEnv(opts.production),
      stateUrlEnv: c.state.urlEnv ?? 'PRODGUARD_STATE_URL',
    }),
  );
  return file;
}
