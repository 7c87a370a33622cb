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

type Op = { path: string; risk: Finding['risk']; defaultLinked: boolean; effect: string; alternative: string };
const OPS: Op[] = [
  { path: 'db reset', risk: 'destructive', defaultLinked: false, effect: 'drops every user-created table, function and row in', alternative: 'Use `prodguard restore` into staging instead; reset only the local stack (`supabase db reset` without --linked).' },
  { path: 'db push', risk: 'change', defaultLinked: true, effect: 'applies pending migrations without review to', alternative: 'Use `prodguard migrate deploy` (staging first, two approvals, backup).' },
  { path: 'db execute', risk: 'change', defaultLinked: true, effect: 'runs SQL on', alternative: 'Run read-only SQL with psql; changes go through `prodguard migrate`.' },
  { path: 'db query', risk: 'change', defaultLinked: true, effect: 'runs SQL on', alternative: 'Run read-only SQL with psql; changes go through `prodguard migrate`.' },
  { path: 'db remote commit', risk: 'change', defaultLinked: true, effect: 'rewrites the migration history of', alternative: 'Use `supabase db pull` and review the migration.' },
  { path: 'db remote changes', risk: 'change', defaultLinked: true, effect: 'runs the legacy remote diff against', alternative: 'Use `supabase db diff --linked` (read-only).' },
  { path: 'migration repair', risk: 'change', defaultLinked: true, effect: 'rewrites the migration history table of', alternative: 'Repair history through `prodguard migrate` with approvals.' },
  { path: 'migration squash', risk: 'change', defaultLinked: false, effect: 'rewrites the migration history of', alternative: 'Squash locally only.' },
  { path: 'migration up', risk: 'change', defaultLinked: false, effect: 'applies pending migrations without review to', alternative: 'Use `prodguard migrate deploy`.' },
  { path: 'migration down', risk: 'destructive', defaultLinked: false, effect: 'reverts migrations (dropping what they created) on', alternative: 'Write a forward migration and ship it with `prodguard migrate`.' },
  { path: 'projects delete', risk: 'destructive', defaultLinked: false, effect: 'deletes the whole project, its database and its backups:', alternative: 'Take and verify a backup (`prodguard backup create`) and get a second person to do it from the dashboard.' },
  { path: 'storage rm', risk: 'destructive', defaultLinked: true, effect: 'deletes storage objects (not in database backups) of', alternative: 'Copy the objects first (`supabase storage cp -r`).' },
  { path: 'branches delete', risk: 'destructive', defaultLinked: false, effect: 'deletes a preview branch database of', alternative: 'Delete branches from the dashboard.' },
  { path: 'branches update', risk: 'change', defaultLinked: true, effect: 'changes a branch (reset on push, git branch) of', alternative: 'Change branches from the dashboard.' },
  { path: 'branches reset', risk: 'destructive', defaultLinked: true, effect: 'resets a branch database of', alternative: 'Reset branches from the dashboard.' },
  { path: 'config push', risk: 'change', defaultLinked: true, effect: 'overwrites the remote project settings (auth, API, database config) of', alternative: 'Change project settings through a reviewed change.' },
  { path: 'postgres-config update', risk: 'change', defaultLinked: true, effect: 'changes the Postgres server configuration (and may restart it) of', alternative: 'Change server settings through a reviewed change.' },
  { path: 'postgres-config delete', risk: 'change', defaultLinked: true, effect: 'removes Postgres server configuration overrides of', alternative: 'Change server settings through a reviewed change.' },
  { path: 'functions delete', risk: 'change', defaultLinked: true, effect: 'deletes an edge function of', alternative: 'Delete functions from the dashboard after review.' },
  { path: 'secrets unset', risk: 'change', defaultLinked: true, effect: 'removes secrets of', alternative: 'Change secrets from the dashboard after review.' },
  { path: 'storage mv', risk: 'change', defaultLinked: true, effect: 'moves storage objects (not in database backups) of', alternative: 'Copy the objects first (`supabase storage cp -r`).' },
  { path: 'domains delete', risk: 'change', defaultLinked: true, effect: 'removes the custom domain of', alternative: 'Change domains from the dashboard after review.' },
  { path: 'vanity-subdomains delete', risk: 'change', defaultLinked: true, effect: 'removes the vanity subdomain of', alternative: 'Change domains from the dashboard after review.' },
  { path: 'network-restrictions update', risk: 'change', defaultLinked: true, effect: 'changes who can reach the database of', alternative: 'Change network restrictions from the dashboard after review.' },
  { path: 'ssl-enforcement update', risk: 'change', defaultLinked: true, effect: 'changes SSL enforcement of', alternative: 'Change it from the dashboard after review.' },
  { path: 'sso remove', risk: 'change', defaultLinked: true, effect: 'removes an SSO provider of', alternative: 'Change SSO from the dashboard after review.' },
  { path: 'seed buckets', risk: 'change', defaultLinked: false, effect: 'seeds storage buckets of', alternative: 'Seed the local stack only.' },
  { path: 'test db', risk: 'opaque', defaultLinked: false, effect: 'runs pgTAP test files (arbitrary SQL) against', alternative: 'Run tests against the local stack (`supabase test db`).' },
  { path: 'db pull', risk: 'change', defaultLinked: true, effect: 'may write to the migration history table of', alternative: 'Use `supabase db diff --linked` (read-only).' },
  { path: 'storage cp', risk: 'change', defaultLinked: false, effect: 'writes storage objects (not in database backups) of', alternative: 'Copy into the local stack, or copy production objects out only.' },
  { path: 'projects pause', risk: 'destructive', defaultLinked: false, effect: 'pauses the project (production offline):', alternative: 'Pause from the dashboard with a second person.' },
];

/** The CLI's aliases: `migrations` is `migration`, `branch` is `branches`, `project` is `projects`. */
const ALIASES: Record<string, string> = { migrations: 'migration', branch: 'branches', project: 'projects', secret: 'secrets', function: 'functions', fn: 'functions' };

export const rule: GuardRule = {
  id: 'supabase',
  tools: ['supabase'],
  severity: 'error',
  title: 'supabase CLI commands that reset, migrate or delete a remote project',
  explanation:
    '`supabase db reset --linked` drops every user-created object in the linked project and re-applies migrations: all data is gone. `db push`, `db execute`, `migration repair/up/down/squash` change a remote database without review, `projects delete` deletes the project and its backups. Without --linked/--db-url, `db reset` and `migration up/down` act on the local stack and are allowed. Read-only commands (`db dump`, `migration list`, `gen types`, `db lint`, `inspect db`, `db diff`, `link`, `start`, `stop`, `status`) are allowed.',
  examples: {
    deny: ['supabase db reset --linked', 'supabase db push', 'supabase projects delete abcdefghijklmnopqrst', 'supabase migration repair --status reverted 20240101000000'],
    allow: ['supabase db reset', 'supabase start', 'supabase db dump --linked -f dump.sql', 'supabase migration list', 'supabase gen types typescript --linked'],
  },
  async check(inv, h) {
    const words = subcommand(inv).map((w, i) => (i === 0 ? ALIASES[w] ?? w : w));
    const joined = words.join(' ');
    const op = OPS.find((o) => joined === o.path || joined.startsWith(o.path + ' '));
    // A subcommand the guard cannot read (`db {reset,status}`, `db $X`) could be any of them.
    if (!op && words.slice(0, 3).some((w) => w.includes(OPAQUE_ARG))) return { risk: 'opaque', effect: `runs a supabase subcommand the guard cannot read (${words.slice(0, 3).join(' ').replace(/\u0000\?/g, '<?>')}) against`, target: supabaseTarget(inv, h, true) };
    if (!op) return null;
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
  },
};
