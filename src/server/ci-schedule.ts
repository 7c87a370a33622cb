/**
 * For teams without a server: a GitHub Actions workflow that runs the daily backup and its
 * verification on the config's schedule with the same job code as `serve` (`prodguard jobs run`).
 * A runner starts empty, so it first rebuilds the backup catalog from the destinations'
 * manifests (`backup sync-catalog`) — verify must find the backup the previous step made even
 * when the state store is the default SQLite file.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { LoadedConfig } from '../config/load.js';
import { UsageError } from '../errors.js';

export const SCHEDULE_WORKFLOW_PATH = '.github/workflows/prodguard-schedule.yml';

/** GitHub's cron has 5 fields and runs in UTC. */
function githubCron(pattern: string, timezone: string | undefined): string {
  const fields = pattern.trim().split(/\s+/);
  if (fields.length !== 5) throw new UsageError(`GitHub Actions cron needs 5 fields; "${pattern}" has ${fields.length}`, 'ci.cron');
  if (timezone && timezone !== 'UTC' && timezone !== 'Etc/UTC') {
    throw new UsageError(`GitHub Actions schedules run in UTC; schedules.timezone is ${timezone} — set it to UTC (and the times accordingly) before writing the workflow`, 'ci.timezone');
  }
  return pattern.trim();
}

export function scheduleWorkflow(loaded: LoadedConfig, opts: { node?: string } = {}): string {
  const c = loaded.config;
  const prod = Object.entries(c.environments).filter(([, e]) => e.kind === 'production');
  if (!prod.length) throw new UsageError('no production environment in prodguard.yaml', 'ci.no-production');
  const tz = c.schedules.timezone;
  const backupCron = githubCron(c.schedules.backup, tz);
  const verifyCron = githubCron(c.schedules.verify, tz);
  const secrets = new Set<string>();
  for (const [, e] of prod) if (e.urlEnv) secrets.add(e.urlEnv);
  secrets.add(c.backup.encryption.identityEnv);
  for (const d of c.backup.destinations) if (d.type === 's3') {
    secrets.add(d.accessKeyIdEnv);
    secrets.add(d.secretAccessKeyEnv);
  }
  for (const w of c.notifications.webhooks) secrets.add(w.urlEnv);
  if (c.state.urlEnv) secrets.add(c.state.urlEnv);
  const envBlock = [...secrets].sort().map((s) => `      ${s}: \${{ secrets.${s} }}`).join('\n');
  const steps = prod.map(([name]) => `      - name: backup ${name}
        if: github.event.schedule == '${backupCron}' || github.event_name == 'workflow_dispatch'
        run: npx prodguard jobs run backup:${name}
      - name: verify the newest backup of ${name} by restoring it
        if: github.event.schedule == '${verifyCron}' || github.event_name == 'workflow_dispatch'
        run: npx prodguard jobs run verify:${name}`).join('\n');
  const crons = [...new Set([backupCron, verifyCron])].map((x) => `    - cron: '${x}'`).join('\n');
  return `# Written by \`prodguard init ci --github\`: the daily backup and its verification for teams
# without a \`prodguard serve\`. Set server.schedule: ci in prodguard.yaml so \`status\` expects it.
name: prodguard-schedule
on:
  schedule:
${crons}
  workflow_dispatch:

permissions:
  contents: read

concurrency:
  group: prodguard-schedule
  cancel-in-progress: false

jobs:
  backup:
    runs-on: ubuntu-latest
    timeout-minutes: 120
    env:
      GITHUB_ACTIONS_RUN: \${{ github.run_id }}
${envBlock}
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-node@v4
        with:
          node-version: '${opts.node ?? '20'}'
      - name: PostgreSQL tools (pg_dump, and a throw-away server for verification)
        run: sudo apt-get update -qq && sudo apt-get install -y -qq postgresql postgresql-client
      - run: npm ci
      - name: rebuild the backup catalog from the destinations
        run: npx prodguard backup sync-catalog
${steps}
`;
}

export function writeScheduleWorkflow(loaded: LoadedConfig, opts: { force?: boolean } = {}): string {
  const file = join(loaded.root, SCHEDULE_WORKFLOW_PATH);
  if (existsSync(file) && !opts.force) throw new UsageError(`${file} already exists; use --force to overwrite it`, 'ci.exists');
  const text = scheduleWorkflow(loaded);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
}
