import { parseArgs, optValue, hasOpt } from '../args.js';
import { OPAQUE_ARG, type GuardRule, type Invocation, type RuleHelpers, type Finding } from './types.js';
import type { TargetSpec } from '../target.js';

const VALUED = ['workdir', 'db-url', 'project-ref', 'password', 'file', 'schema', 'version', 'status', 'output', 'dns-resolver', 'network-id', 'profile', 'last', 'level', 'fail-on', 'region', 'org-id', 'db-password', 'plan', 'size', 'exclude', 'include', 'name', 'lang', 'data-only', 'role-only', 'bucket', 'local-version'];

/** Where a supabase subcommand points: --db-url, --project-ref, --linked, else its default. */
export function supabaseTarget(inv: Invocation, h: RuleHelpers, defaultLinked: boolean) {
  const p = parseArgs(inv.args, { short: 'psfo', long: VALUED });
  const spec: TargetSpec = {};
  const dbUrl = optValue(p, 'db-url');
  const ref = optValue(p, 'project-ref');
  if (inv.opaque.length) return h.target({ opaque: `cannot resolve ${inv.opaque[0]}` });
  if (dbUrl) spec.url = dbUrl;
  else if (ref) spec.supabaseRef = ref;
  else if ((hasOpt(p, 'linked') && optValue(p, 'linked') !== 'false') || (defaultLinked && !hasOpt(p, 'local'))) spec.linked = { workdir: optValue(p, 'workdir') };
  else spec.localDefault = 'the local Supabase stack (no --linked or --db-url)';
  return h.target(spec);
}

export function subcommand(inv: Invocation): string[] {
  return parseArgs(inv.args, { short: 'psfo', long: VALUED }).positionals;
}

/** `reason`: the exact answer to the first deny example in test/guard/fixture (the test pins it). */
type Op = { path: string; title: string; risk: Finding['risk']; defaultLinked: boolean; effect: string; alternative: string; deny: string[]; allow: string[]; reason: string };
/** One rule per operation (`supabase-db-reset`, `supabase-db-push`, …), each with its examples (test/guard/decide.test.ts runs them; docs/guard.md lists them). */
const OPS: Op[] = [
  { path: 'db reset', title: 'supabase db reset against a remote project (drops everything)', risk: 'destructive', defaultLinked: false, effect: 'drops every user-created table, function and row in', alternative: 'Use `prodguard restore` into staging instead; reset only the local stack (`supabase db reset` without --linked).', deny: ['supabase db reset --linked', 'supabase db reset --db-url "$PRODUCTION_DATABASE_URL"'], allow: ['supabase db reset', 'supabase db reset --local'], reason: '`supabase db reset --linked` drops every user-created table, function and row in the linked project qwikker-prod (production). Use `prodguard restore` into staging instead; reset only the local stack (`supabase db reset` without --linked).' },
  { path: 'db push', title: 'supabase db push: unreviewed migrations to a remote project', risk: 'change', defaultLinked: true, effect: 'applies pending migrations without review to', alternative: 'Use `prodguard migrate deploy` (staging first, two approvals, backup).', deny: ['supabase db push', 'supabase db push --linked --include-all'], allow: ['supabase db push --dry-run', 'supabase db push --local'], reason: '`supabase db push` applies pending migrations without review to the linked project qwikker-prod (production). Use `prodguard migrate deploy` (staging first, two approvals, backup).' },
  { path: 'db execute', title: 'supabase db execute: SQL on a remote project, judged by the SQL layer', risk: 'change', defaultLinked: true, effect: 'runs SQL on', alternative: 'Run read-only SQL with psql; changes go through `prodguard migrate`.', deny: ['supabase db execute --linked -f sql/drop.sql'], allow: ['supabase db execute --linked -f sql/report.sql'], reason: '`supabase db execute --linked -f sql/drop.sql` runs destructive SQL (DROP table businesses: DROP TABLE businesses) on the linked project qwikker-prod (production). Write a migration and ship it with `prodguard migrate` (staging first, approvals, backup).' },
  { path: 'db query', title: 'supabase db query: SQL on a remote project, judged by the SQL layer', risk: 'change', defaultLinked: true, effect: 'runs SQL on', alternative: 'Run read-only SQL with psql; changes go through `prodguard migrate`.', deny: ['supabase db query \'drop table businesses\''], allow: ['supabase db query \'select count(*) from businesses\''], reason: '`supabase db query \'drop table businesses\'` runs destructive SQL (DROP table businesses: DROP TABLE businesses) on the linked project qwikker-prod (production). Write a migration and ship it with `prodguard migrate` (staging first, approvals, backup).' },
  { path: 'db remote commit', title: 'supabase db remote commit: rewrites remote migration history', risk: 'change', defaultLinked: true, effect: 'rewrites the migration history of', alternative: 'Use `supabase db pull` and review the migration.', deny: ['supabase db remote commit'], allow: ['supabase db remote commit --help', 'supabase db pull --dry-run'], reason: '`supabase db remote commit` rewrites the migration history of the linked project qwikker-prod (production). Use `supabase db pull` and review the migration.' },
  { path: 'db remote changes', title: 'supabase db remote changes (legacy remote diff)', risk: 'change', defaultLinked: true, effect: 'runs the legacy remote diff against', alternative: 'Use `supabase db diff --linked` (read-only).', deny: ['supabase db remote changes'], allow: ['supabase db diff --linked'], reason: '`supabase db remote changes` runs the legacy remote diff against the linked project qwikker-prod (production). Use `supabase db diff --linked` (read-only).' },
  { path: 'migration repair', title: 'supabase migration repair: rewrites the remote migration history table', risk: 'change', defaultLinked: true, effect: 'rewrites the migration history table of', alternative: 'Repair history through `prodguard migrate` with approvals.', deny: ['supabase migration repair --status reverted 20240101000000', 'supabase migrations repair --status applied 20240101000000'], allow: ['supabase migration repair --local --status reverted 20240101000000', 'supabase migration list'], reason: '`supabase migration repair --status reverted 20240101000000` rewrites the migration history table of the linked project qwikker-prod (production). Repair history through `prodguard migrate` with approvals.' },
  { path: 'migration squash', title: 'supabase migration squash against a remote project', risk: 'change', defaultLinked: false, effect: 'rewrites the migration history of', alternative: 'Squash locally only.', deny: ['supabase migration squash --linked'], allow: ['supabase migration squash'], reason: '`supabase migration squash --linked` rewrites the migration history of the linked project qwikker-prod (production). Squash locally only.' },
  { path: 'migration up', title: 'supabase migration up against a remote project', risk: 'change', defaultLinked: false, effect: 'applies pending migrations without review to', alternative: 'Use `prodguard migrate deploy`.', deny: ['supabase migration up --linked'], allow: ['supabase migration up'], reason: '`supabase migration up --linked` applies pending migrations without review to the linked project qwikker-prod (production). Use `prodguard migrate deploy`.' },
  { path: 'migration down', title: 'supabase migration down against a remote project (reverts)', risk: 'destructive', defaultLinked: false, effect: 'reverts migrations (dropping what they created) on', alternative: 'Write a forward migration and ship it with `prodguard migrate`.', deny: ['supabase migration down --linked'], allow: ['supabase migration down'], reason: '`supabase migration down --linked` reverts migrations (dropping what they created) on the linked project qwikker-prod (production). Write a forward migration and ship it with `prodguard migrate`.' },
  { path: 'projects delete', title: 'supabase projects delete: the project, its database and backups', risk: 'destructive', defaultLinked: false, effect: 'deletes the whole project, its database and its backups:', alternative: 'Take and verify a backup (`prodguard backup create`) and get a second person to do it from the dashboard.', deny: ['supabase projects delete qwikkerprod123456789'], allow: ['supabase projects list', 'supabase projects delete --help'], reason: '`supabase projects delete qwikkerprod123456789` deletes the whole project, its database and its backups: qwikker-prod (production). Take and verify a backup (`prodguard backup create`) and get a second person to do it from the dashboard.' },
  { path: 'storage rm', title: 'supabase storage rm: storage objects are not in database backups', risk: 'destructive', defaultLinked: true, effect: 'deletes storage objects (not in database backups) of', alternative: 'Copy the objects first (`supabase storage cp -r`).', deny: ['supabase storage rm -r ss:///avatars'], allow: ['supabase storage ls ss:///avatars', 'supabase storage rm --local ss:///avatars/a.png'], reason: '`supabase storage rm -r ss:///avatars` deletes storage objects (not in database backups) of the linked project qwikker-prod (production). Copy the objects first (`supabase storage cp -r`).' },
  { path: 'branches delete', title: 'supabase branches delete: a preview branch database', risk: 'destructive', defaultLinked: false, effect: 'deletes a preview branch database of', alternative: 'Delete branches from the dashboard.', deny: ['supabase branches delete feature-x --project-ref qwikkerprod123456789'], allow: ['supabase branches list', 'supabase branches delete feature-x --help'], reason: '`supabase branches delete feature-x --project-ref qwikkerprod123456789` deletes a preview branch database of qwikker-prod (production). Delete branches from the dashboard.' },
  { path: 'branches update', title: 'supabase branches update on a remote project', risk: 'change', defaultLinked: true, effect: 'changes a branch (reset on push, git branch) of', alternative: 'Change branches from the dashboard.', deny: ['supabase branches update feature-x --reset-on-push'], allow: ['supabase branches get feature-x', 'supabase branches update feature-x --help'], reason: '`supabase branches update feature-x --reset-on-push` changes a branch (reset on push, git branch) of the linked project qwikker-prod (production). Change branches from the dashboard.' },
  { path: 'branches reset', title: 'supabase branches reset: a branch database reset', risk: 'destructive', defaultLinked: true, effect: 'resets a branch database of', alternative: 'Reset branches from the dashboard.', deny: ['supabase branches reset feature-x'], allow: ['supabase branches reset feature-x --help'], reason: '`supabase branches reset feature-x` resets a branch database of the linked project qwikker-prod (production). Reset branches from the dashboard.' },
  { path: 'config push', title: 'supabase config push: overwrites remote project settings', risk: 'change', defaultLinked: true, effect: 'overwrites the remote project settings (auth, API, database config) of', alternative: 'Change project settings through a reviewed change.', deny: ['supabase config push'], allow: ['supabase config push --help', 'supabase start'], reason: '`supabase config push` overwrites the remote project settings (auth, API, database config) of the linked project qwikker-prod (production). Change project settings through a reviewed change.' },
  { path: 'postgres-config update', title: 'supabase postgres-config update: server settings (may restart)', risk: 'change', defaultLinked: true, effect: 'changes the Postgres server configuration (and may restart it) of', alternative: 'Change server settings through a reviewed change.', deny: ['supabase postgres-config update --config max_connections=200'], allow: ['supabase postgres-config get'], reason: '`supabase postgres-config update --config max_connections=200` changes the Postgres server configuration (and may restart it) of the linked project qwikker-prod (production). Change server settings through a reviewed change.' },
  { path: 'postgres-config delete', title: 'supabase postgres-config delete: server setting overrides', risk: 'change', defaultLinked: true, effect: 'removes Postgres server configuration overrides of', alternative: 'Change server settings through a reviewed change.', deny: ['supabase postgres-config delete --config max_connections'], allow: ['supabase postgres-config get'], reason: '`supabase postgres-config delete --config max_connections` removes Postgres server configuration overrides of the linked project qwikker-prod (production). Change server settings through a reviewed change.' },
  { path: 'functions delete', title: 'supabase functions delete: a remote edge function', risk: 'change', defaultLinked: true, effect: 'deletes an edge function of', alternative: 'Delete functions from the dashboard after review.', deny: ['supabase functions delete send-email'], allow: ['supabase functions list', 'supabase functions serve'], reason: '`supabase functions delete send-email` deletes an edge function of the linked project qwikker-prod (production). Delete functions from the dashboard after review.' },
  { path: 'secrets unset', title: 'supabase secrets unset: remote secrets', risk: 'change', defaultLinked: true, effect: 'removes secrets of', alternative: 'Change secrets from the dashboard after review.', deny: ['supabase secrets unset STRIPE_KEY'], allow: ['supabase secrets list'], reason: '`supabase secrets unset STRIPE_KEY` removes secrets of the linked project qwikker-prod (production). Change secrets from the dashboard after review.' },
  { path: 'storage mv', title: 'supabase storage mv: moves remote storage objects', risk: 'change', defaultLinked: true, effect: 'moves storage objects (not in database backups) of', alternative: 'Copy the objects first (`supabase storage cp -r`).', deny: ['supabase storage mv ss:///avatars/a.png ss:///avatars/b.png'], allow: ['supabase storage mv --local ss:///avatars/a.png ss:///avatars/b.png'], reason: '`supabase storage mv ss:///avatars/a.png ss:///avatars/b.png` moves storage objects (not in database backups) of the linked project qwikker-prod (production). Copy the objects first (`supabase storage cp -r`).' },
  { path: 'domains delete', title: 'supabase domains delete: the custom domain', risk: 'change', defaultLinked: true, effect: 'removes the custom domain of', alternative: 'Change domains from the dashboard after review.', deny: ['supabase domains delete'], allow: ['supabase domains get'], reason: '`supabase domains delete` removes the custom domain of the linked project qwikker-prod (production). Change domains from the dashboard after review.' },
  { path: 'vanity-subdomains delete', title: 'supabase vanity-subdomains delete', risk: 'change', defaultLinked: true, effect: 'removes the vanity subdomain of', alternative: 'Change domains from the dashboard after review.', deny: ['supabase vanity-subdomains delete'], allow: ['supabase vanity-subdomains get'], reason: '`supabase vanity-subdomains delete` removes the vanity subdomain of the linked project qwikker-prod (production). Change domains from the dashboard after review.' },
  { path: 'network-restrictions update', title: 'supabase network-restrictions update: who can reach the database', risk: 'change', defaultLinked: true, effect: 'changes who can reach the database of', alternative: 'Change network restrictions from the dashboard after review.', deny: ['supabase network-restrictions update --db-allow-cidr 0.0.0.0/0'], allow: ['supabase network-restrictions get'], reason: '`supabase network-restrictions update --db-allow-cidr 0.0.0.0/0` changes who can reach the database of the linked project qwikker-prod (production). Change network restrictions from the dashboard after review.' },
  { path: 'ssl-enforcement update', title: 'supabase ssl-enforcement update', risk: 'change', defaultLinked: true, effect: 'changes SSL enforcement of', alternative: 'Change it from the dashboard after review.', deny: ['supabase ssl-enforcement update --disable-db-ssl-enforcement'], allow: ['supabase ssl-enforcement get'], reason: '`supabase ssl-enforcement update --disable-db-ssl-enforcement` changes SSL enforcement of the linked project qwikker-prod (production). Change it from the dashboard after review.' },
  { path: 'sso remove', title: 'supabase sso remove: an SSO provider', risk: 'change', defaultLinked: true, effect: 'removes an SSO provider of', alternative: 'Change SSO from the dashboard after review.', deny: ['supabase sso remove 1a2b3c'], allow: ['supabase sso list'], reason: '`supabase sso remove 1a2b3c` removes an SSO provider of the linked project qwikker-prod (production). Change SSO from the dashboard after review.' },
  { path: 'seed buckets', title: 'supabase seed buckets against a remote project', risk: 'change', defaultLinked: false, effect: 'seeds storage buckets of', alternative: 'Seed the local stack only.', deny: ['supabase seed buckets --linked'], allow: ['supabase seed buckets'], reason: '`supabase seed buckets --linked` seeds storage buckets of the linked project qwikker-prod (production). Seed the local stack only.' },
  { path: 'test db', title: 'supabase test db against a remote project (pgTAP files are arbitrary SQL)', risk: 'opaque', defaultLinked: false, effect: 'runs pgTAP test files (arbitrary SQL) against', alternative: 'Run tests against the local stack (`supabase test db`).', deny: ['supabase test db --linked'], allow: ['supabase test db'], reason: '`supabase test db --linked`: cannot tell what this does — it runs pgTAP test files (arbitrary SQL) against the linked project qwikker-prod (production). Run tests against the local stack (`supabase test db`).' },
  { path: 'db pull', title: 'supabase db pull: may write the remote migration history table', risk: 'change', defaultLinked: true, effect: 'may write to the migration history table of', alternative: 'Use `supabase db diff --linked` (read-only).', deny: ['supabase db pull'], allow: ['supabase db pull --local', 'supabase db diff --linked'], reason: '`supabase db pull` may write to the migration history table of the linked project qwikker-prod (production). Use `supabase db diff --linked` (read-only).' },
  { path: 'storage cp', title: 'supabase storage cp into remote storage', risk: 'change', defaultLinked: true, effect: 'writes storage objects (not in database backups) of', alternative: 'Copy into the local stack, or copy production objects out only.', deny: ['supabase storage cp ./avatar.png ss:///avatars/avatar.png'], allow: ['supabase storage cp ss:///avatars/avatar.png ./avatar.png', 'supabase storage cp --local ./a.png ss:///avatars/a.png'], reason: '`supabase storage cp ./avatar.png ss:///avatars/avatar.png` writes storage objects (not in database backups) of the linked project qwikker-prod (production). Copy into the local stack, or copy production objects out only.' },
  { path: 'projects pause', title: 'supabase projects pause: production offline', risk: 'destructive', defaultLinked: false, effect: 'pauses the project (production offline):', alternative: 'Pause from the dashboard with a second person.', deny: ['supabase projects pause qwikkerprod123456789'], allow: ['supabase projects list'], reason: '`supabase projects pause qwikkerprod123456789` pauses the project (production offline): qwikker-prod (production). Pause from the dashboard with a second person.' },
];

/** The CLI's aliases: `migrations` is `migration`, `branch` is `branches`, `project` is `projects`. */
const ALIASES: Record<string, string> = { migrations: 'migration', branch: 'branches', project: 'projects', secret: 'secrets', function: 'functions', fn: 'functions' };

/** The operation a supabase command line runs (aliases resolved), or that its subcommand cannot be read. */
function operation(inv: Invocation): { op: Op; words: string[] } | { opaque: string[] } | null {
  const words = subcommand(inv).map((w, i) => (i === 0 ? ALIASES[w] ?? w : w));
  const joined = words.join(' ');
  const op = OPS.find((o) => joined === o.path || joined.startsWith(o.path + ' '));
  if (op) return { op, words };
  // A subcommand the guard cannot read (`db {reset,status}`, `db $X`) could be any of them.
  if (words.slice(0, 3).some((w) => w.includes(OPAQUE_ARG))) return { opaque: words };
  return null;
}

async function checkOp(op: Op, words: string[], inv: Invocation, h: RuleHelpers): Promise<Finding | null> {
  const p = parseArgs(inv.args, { short: 'psfo', long: VALUED });
  if (hasOpt(p, 'dry-run') || hasOpt(p, 'help') || hasOpt(p, 'h')) return null;
  if (op.path === 'projects delete' || op.path === 'projects pause') {
    const ref = words[2];
    const target = ref ? h.target({ supabaseRef: ref }) : h.target({ linked: {} });
    return { risk: op.risk, effect: op.effect, alternative: op.alternative, target };
  }
  if (op.path === 'storage cp' && !/^ss:\/\//.test(words[words.length - 1] ?? '')) return null;
  const target = supabaseTarget(inv, h, op.defaultLinked);
  if (op.path === 'db execute' || op.path === 'db query') {
    const file = optValue(p, 'file', 'f');
    const text = file ? h.readFile(file) : inv.stdin ? inv.stdin.text : words.slice(2).join(' ') || null;
    return h.sql(text, target, file ? `file ${file}` : 'db query');
  }
  return { risk: op.risk, effect: op.effect, alternative: op.alternative, target };
}

const LOCAL_NOTE = 'Without --linked, --project-ref or --db-url it acts on the local stack and is allowed';

function opRule(op: Op): GuardRule {
  const how = op.defaultLinked ? 'It acts on the linked project unless given --local' : `${LOCAL_NOTE}`;
  return {
    id: `supabase-${op.path.replace(/ /g, '-')}`,
    tools: ['supabase'],
    source: 'supabase',
    severity: 'error',
    title: op.title,
    explanation: `\`supabase ${op.path}\` ${op.effect} the target project. ${how}; --dry-run and --help are allowed. ${op.alternative}`,
    examples: { deny: op.deny, allow: op.allow, reason: op.reason },
    async check(inv, h) {
      const found = operation(inv);
      return found && 'op' in found && found.op === op ? checkOp(op, found.words, inv, h) : null;
    },
  };
}

/** A supabase subcommand the guard cannot read: it could be any of the operations below. */
export const rule: GuardRule = {
  id: 'supabase',
  tools: ['supabase'],
  severity: 'error',
  title: 'supabase CLI subcommands the guard cannot read',
  explanation:
    'When the subcommand itself is hidden (`supabase db $X`, `supabase db {reset,status}`), it could be `db reset` or `db push`; with a remote project reachable it is refused. The operations themselves have their own rules (`supabase-db-reset`, `supabase-db-push`, …). Read-only commands (`db dump`, `migration list`, `gen types`, `db lint`, `inspect db`, `db diff`, `link`, `start`, `stop`, `status`) are allowed.',
  examples: {
    deny: ['supabase db $OP --linked', 'supabase db {reset,push} --linked'],
    reason: '`supabase db <?> --linked` runs a supabase subcommand the guard cannot read (db <?>) against an unidentified database (cannot resolve $OP is not known to the guard). prodguard cannot tell which environment that is, so it refuses (fail closed).',
    allow: ['supabase start', 'supabase db dump --linked -f dump.sql', 'supabase migration list', 'supabase gen types typescript --linked', 'supabase status'],
  },
  async check(inv, h) {
    const found = operation(inv);
    if (!found || !('opaque' in found)) return null;
    return { risk: 'opaque', effect: `runs a supabase subcommand the guard cannot read (${found.opaque.slice(0, 3).join(' ').replace(/\u0000\?/g, '<?>')}) against`, target: supabaseTarget(inv, h, true) };
  },
};

/** Every supabase rule: the unreadable-subcommand rule, then one per operation. */
export const rules: GuardRule[] = [rule, ...OPS.map(opRule)];
