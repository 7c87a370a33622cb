/**
 * The prodguard.yaml schema: the single source for validation, the JSON Schema editors use
 * (`prodguard config schema`) and the configuration reference in docs/configuration.md.
 * Connections are never literal: an environment names a variable or a file that holds the URL.
 */
import { z } from 'zod';
import { Cron } from 'croner';
import { errorMessage } from '../errors.js';
import { SUPABASE_REF } from './patterns.js';

const duration = z
  .string()
  .regex(/^\d+(ms|s|min|h|d)$/, 'a duration like 500ms, 5s, 2min, 4h or 7d');

/** A cron expression croner accepts (5 fields, or 6 with seconds); the problem names the bad field. */
export function cronProblem(pattern: string, timezone?: string): string | null {
  try {
    new Cron(pattern, { paused: true, timezone });
    return null;
  } catch (err) {
    return errorMessage(err).replace(/^CronPattern: /, '');
  }
}

const cron = z.string().superRefine((v, ctx) => {
  const p = cronProblem(v);
  if (p) ctx.addIssue({ code: 'custom', message: `not a valid cron expression "${v}": ${p}` });
});

const timezone = z.string().superRefine((v, ctx) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: v });
  } catch {
    ctx.addIssue({ code: 'custom', message: `unknown time zone "${v}" (use an IANA name such as Europe/Berlin or UTC)` });
  }
});

export const environmentSchema = z
  .object({
    kind: z.enum(['local', 'staging', 'production']).describe('What this environment is; production gets the strictest rules.'),
    urlEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name').optional()
      .describe('Name of the environment variable that holds the connection URL.'),
    urlFile: z.string().optional().describe('Path of a file (e.g. a mounted secret) whose content is the connection URL.'),
    supabaseRef: z.string().regex(SUPABASE_REF, 'a Supabase project ref (lowercase letters and digits)').optional()
      .describe('Supabase project ref of this environment (what `supabase link` writes to supabase/.temp/project-ref).'),
    hosts: z.array(z.string()).default([]).describe('Extra host names or host:port pairs that identify this environment in connection strings.'),
    label: z.string().optional().describe('Human name shown in messages, e.g. "qwikker-prod".'),
    policy: z.enum(['allow', 'backup-first', 'deny']).optional()
      .describe('What the command guard does with destructive commands here. Defaults: local allow, staging backup-first, production deny.'),
  })
  .strict()
  .refine((e) => !(e.urlEnv && e.urlFile), { message: 'give either urlEnv or urlFile, not both' });

export const memberSchema = z
  .object({
    name: z.string().min(1),
    email: z.string().optional(),
    role: z.enum(['senior', 'developer']),
    publicKey: z.string().nullable().default(null).describe('ed25519 public key (from `prodguard keys generate`); needed to approve changes.'),
  })
  .strict();

const localDestination = z
  .object({ name: z.string().min(1), type: z.literal('local'), path: z.string().min(1) })
  .strict();
const s3Destination = z
  .object({
    name: z.string().min(1),
    type: z.literal('s3'),
    bucket: z.string().min(1),
    prefix: z.string().default(''),
    endpoint: z.string().optional().describe('Custom endpoint for MinIO, R2, B2, Supabase Storage or a local S3 server.'),
    region: z.string().default('us-east-1'),
    forcePathStyle: z.boolean().default(true),
    accessKeyIdEnv: z.string().default('AWS_ACCESS_KEY_ID'),
    secretAccessKeyEnv: z.string().default('AWS_SECRET_ACCESS_KEY'),
  })
  .strict();
export const destinationSchema = z.discriminatedUnion('type', [localDestination, s3Destination]);

export const backupSchema = z
  .object({
    format: z.enum(['custom', 'directory']).default('directory').describe('directory: parallel pg_dump -Fd -j (the default; files encrypted and uploaded as they finish); custom: one pg_dump -Fc stream.'),
    jobs: z.union([z.number().int().min(1).max(64), z.literal('auto')]).default('auto').describe('Parallel pg_dump/pg_restore jobs (directory format); auto = the cores available, at most 4.'),
    compression: z.number().int().min(0).max(9).default(1).describe('gzip level pg_dump compresses with (0–9). 1 (the default) keeps a backup within 1.10× of bare pg_dump -Fd -j N; 6 is pg_dump\'s own default: smaller on most data, slower (see docs/backup.md).'),
    encryption: z
      .object({
        recipients: z.array(z.string().regex(/^age1[0-9a-z]+$/, 'an age X25519 public key (age1…)')).default([]),
        identityEnv: z.string().default('PRODGUARD_AGE_IDENTITY').describe('Variable holding the age identity (AGE-SECRET-KEY-1…) needed to verify and restore.'),
        identityFile: z.string().optional(),
        noEncrypt: z.boolean().default(false).describe('Store backups unencrypted. Only for throw-away data.'),
      })
      .strict()
      .prefault({}),
    destinations: z.array(destinationSchema).default([]),
    retention: z
      .object({
        daily: z.number().int().min(0).default(7),
        weekly: z.number().int().min(0).default(4),
        monthly: z.number().int().min(0).default(12),
        minAge: duration.default('24h').describe('Backups younger than this are never pruned.'),
      })
      .strict()
      .prefault({}),
    maxAge: duration.default('26h').describe('status fails rule 2 when the newest verified backup is older than this.'),
  })
  .strict();

export const smokeTestSchema = z
  .object({
    name: z.string().min(1),
    sql: z.string().min(1).describe('One read-only statement returning one value; anything the SQL engine cannot prove read-only, or more than one statement, is refused. Runs in a READ ONLY transaction.'),
    expect: z.union([z.string(), z.number(), z.boolean()]).optional().describe('Expected value; without it the query must return at least one row.'),
    min: z.number().optional().describe('The value must be at least this.'),
  })
  .strict();

export const maskingRuleSchema = z
  .object({
    table: z.string().min(1).describe('schema.table or table (public).'),
    column: z.string().min(1),
    strategy: z.enum(['email', 'name', 'phone', 'hash', 'null', 'text', 'scrub', 'keep']).describe('scrub: replace e-mails, phone numbers, tokens and card numbers inside free text; keep: copy unmasked (needs a reason). keep, scrub and rules with paths must be signed by the policy in force (policy propose + policy sign), else staging refresh refuses.'),
    reason: z.string().min(1).optional().describe('Why a column detected as personal data is kept unmasked (required with strategy keep).'),
    paths: z.array(z.string().regex(/^\$(\.(\*\*|\*|[A-Za-z0-9_-]+))*$/)).optional().describe('json/jsonb only: mask just the string leaves at these paths ($.name, $.*.name, $.**.email); without it every string leaf.'),
  })
  .strict()
  .refine((r) => r.strategy !== 'keep' || !!r.reason, { message: 'strategy keep needs a reason' });

export const guardRuleSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
    match: z.string().min(1).describe('Command prefix (words) this rule matches, e.g. "npm run db:nuke".'),
    decision: z.enum(['allow', 'deny', 'backup-first']),
    reason: z.string().min(1),
    environments: z.array(z.string()).optional(),
  })
  .strict();

export const configSchema = z
  .object({
    version: z.literal(1).default(1),
    project: z
      .object({
        name: z.string().min(1).default('project'),
        layout: z.enum(['supabase', 'plain']).default('plain'),
        migrationsDir: z.string().default('migrations'),
      })
      .strict()
      .prefault({}),
    environments: z.record(z.string().regex(/^[a-z][a-z0-9_-]*$/, 'a lowercase environment name'), environmentSchema)
      .refine((envs) => Object.values(envs).some((e) => e.kind === 'production'), {
        message: 'at least one environment must have kind: production',
      }),
    team: z.array(memberSchema).default([]),
    state: z
      .object({
        store: z.enum(['sqlite', 'postgres']).default('sqlite'),
        path: z.string().default('.prodguard/state.db'),
        urlEnv: z.string().optional(),
        auditLog: z.string().default('.prodguard/audit.jsonl'),
      })
      .strict()
      .prefault({}),
    backup: backupSchema.prefault({}),
    schedules: z
      .object({
        backup: cron.default('0 3 * * *'),
        verify: cron.default('30 3 * * *'),
        drill: cron.default('0 4 * * 0'),
        drift: cron.default('0 * * * *'),
        prune: cron.default('0 5 * * *'),
        timezone: timezone.optional().describe('IANA time zone the schedules are read in (default: the server\'s local time zone).'),
      })
      .strict()
      .prefault({}),
    drills: z
      .object({
        interval: duration.default('7d').describe('status fails rule 6 when the last good drill is older.'),
        smokeTests: z.array(smokeTestSchema).default([]),
      })
      .strict()
      .prefault({}),
    pitr: z
      .object({
        method: z.enum(['archive-command', 'streaming']).default('streaming'),
        baseBackupSchedule: cron.default('0 2 * * *'),
        walDir: z.string().default('.prodguard/wal'),
        archiveTimeout: duration.default('60s').describe('archive_timeout set by `pitr enable` (archive-command method): the longest a commit waits before its WAL segment is archived — the RPO.'),
      })
      .strict()
      .prefault({}),
    migrations: z
      .object({
        lockTimeout: duration.default('5s'),
        statementTimeout: duration.default('15min'),
        approvals: z
          .object({
            required: z.number().int().min(1).default(2),
            expireAfter: duration.default('72h'),
            dir: z.string().default('.prodguard/approvals'),
          })
          .strict()
          .prefault({}),
        deployIdentity: z.string().default('ci').describe('Actor name deploys are recorded under besides the CI identity; production deploys need the CI platform\'s OIDC token (policy.oidc), never CI=true.'),
        historyTable: z.string().default('prodguard.schema_migrations'),
        healthChecks: z.array(smokeTestSchema).default([]),
      })
      .strict()
      .prefault({}),
    staging: z
      .object({
        masking: z.array(maskingRuleSchema).default([]),
        maxDataAge: duration.default('14d'),
      })
      .strict()
      .prefault({}),
    guard: z
      .object({
        rules: z.array(guardRuleSchema).default([]),
        backupMaxAge: duration.default('1h').describe('How fresh a verified backup must be for backup-first commands.'),
      })
      .strict()
      .prefault({}),
    notifications: z
      .object({
        webhooks: z.array(z.object({ name: z.string(), urlEnv: z.string(), format: z.enum(['json', 'slack']).default('json') }).strict()).default([]),
        retries: z.number().int().min(0).max(10).default(3).describe('Extra attempts after a failed delivery; each waits twice as long as the one before.'),
        retryDelay: duration.default('1s').describe('Wait before the first retry (doubles each time).'),
        email: z
          .object({
            name: z.string().default('email'),
            host: z.string().describe('SMTP server.'),
            port: z.number().int().min(1).max(65535).default(587),
            secure: z.boolean().default(false).describe('TLS from the first byte (port 465); otherwise STARTTLS when the server offers it.'),
            from: z.string(),
            to: z.array(z.string()).min(1),
            userEnv: z.string().optional().describe('Variable holding the SMTP user name.'),
            passwordEnv: z.string().optional().describe('Variable holding the SMTP password.'),
          })
          .strict()
          .optional()
          .describe('E-mail over SMTP as one more notification channel (optional).'),
      })
      .strict()
      .prefault({}),
    server: z
      .object({
        host: z.string().default('127.0.0.1').describe('Address `prodguard serve` binds; anything but loopback needs auth configured.'),
        port: z.number().int().min(1).max(65535).default(7707),
        auth: z
          .object({
            tokenEnv: z.string().default('PRODGUARD_DASHBOARD_TOKEN').describe('Variable holding a shared dashboard/metrics token (Bearer for /metrics).'),
            users: z.array(z.object({ name: z.string().min(1), passwordHash: z.string().regex(/^scrypt\$[0-9a-f]+\$[0-9a-f]+$/, 'a hash from `prodguard serve hash-password`') }).strict()).default([])
              .describe('People who log in with their own password (hash from `prodguard serve hash-password`).'),
          })
          .strict()
          .prefault({}),
        leader: z
          .object({
            urlEnv: z.string().optional().describe('Variable holding a PostgreSQL URL; several `serve` processes elect one leader there (advisory lock). Default: state.urlEnv when state.store is postgres.'),
            pollInterval: duration.default('10s').describe('How often a follower tries to become leader.'),
          })
          .strict()
          .prefault({}),
        schedule: z.enum(['serve', 'ci']).default('serve').describe('Who runs the schedule: a `prodguard serve` process or a scheduled CI workflow.'),
      })
      .strict()
      .prefault({}),
    runbook: z
      .object({
        contacts: z.array(z.object({
          name: z.string(),
          role: z.string(),
          phone: z.string().optional(),
          email: z.string().optional(),
          available: z.string().default('24/7').describe('When this person can be reached, e.g. 24/7 or "weekdays 08-18 CET".'),
          escalateAfter: duration.optional().describe('Call the next contact when this one has not answered within this time.'),
        }).strict()).default([]).describe('Who to call in an incident, in order (the runbook prints them so).'),
        keyHolders: z.array(z.object({ name: z.string(), holds: z.string().describe('Which key, e.g. "age identity for backups (1Password vault Ops)".') }).strict()).default([])
          .describe('Who holds the decryption keys of the backups, and where.'),
        communication: z
          .object({
            internal: z.string().optional().describe('Template of the internal incident message; placeholders {what}, {impact}, {next_update}, {incident_lead}.'),
            customerEmail: z.string().optional().describe('Template of the customer e-mail; same placeholders.'),
            statusPage: z.string().optional().describe('Template of the status page entry; same placeholders.'),
            statusPageUrl: z.string().optional(),
          })
          .strict()
          .optional()
          .describe('The communication plan for data-loss incidents; status fails rule 6 without it.'),
      })
      .strict()
      .prefault({}),
    supabase: z
      .object({
        pitr: z.enum(['none', 'addon']).default('none')
          .describe('Hosted Supabase PITR add-on: `addon` declares it is enabled (status shows it as declared, not proven) unless the Management API can be asked.'),
        accessTokenEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name').default('SUPABASE_ACCESS_TOKEN')
          .describe('Variable holding a Supabase access token (sbp_…); when set, status reads PITR from the Management API (read-only GET).'),
        apiUrl: z.string().url().default('https://api.supabase.com').describe('Supabase Management API base URL.'),
      })
      .strict()
      .prefault({}),
    gateway: z
      .object({
        listen: z.string().regex(/^[^\s:]+:\d+$/, 'host:port').default('127.0.0.1:6432').describe('Where `prodguard gateway` listens (host:port).'),
        requireTls: z.boolean().default(true).describe('Refuse clients that do not use TLS (sslmode=require).'),
        tlsCert: z.string().optional().describe('PEM certificate; without it a self-signed one is generated beside the state store on first start.'),
        tlsKey: z.string().optional().describe('PEM private key for tlsCert.'),
        auditLog: z.string().default('.prodguard/gateway-audit.jsonl').describe('Hash-chained per-statement audit log the gateway writes.'),
        maskLiterals: z.boolean().default(true).describe('Replace literal values in audited SQL with ?.'),
        statementTimeout: duration.default('5min').describe('A statement running longer is cancelled by the gateway.'),
        idleTimeout: duration.default('30min').describe('A session idle longer is closed.'),
        tempFileLimit: z
          .string()
          .regex(/^\d+\s*(kB|MB|GB|TB)$/, 'a size such as 1GB')
          .default('1GB')
          .describe("temp_file_limit of read-only sessions: a sort or hash of a huge generated set cannot fill production's disk with temporary files. Set when the upstream login is a superuser; otherwise set it on that role (ALTER ROLE … SET temp_file_limit)."),
        maxConnectionsPerUser: z.number().int().min(1).default(10),
        maxConnections: z.number().int().min(1).default(200),
        readFrom: z.string().optional().describe("Environment reads go to: must be the recorded shadow of the gateway's --env (`prodguard shadow enable`); no write grant is honoured then."),
        maxStatementBytes: z.number().int().min(1024).default(1024 * 1024)
          .describe('A Query or Parse whose SQL text is longer is refused (SQLSTATE 54000) before it is parsed: parsing a huge statement would stall every client.'),
        authenticationTimeout: duration.default('10s').describe('A connection that has not finished logging in by then is closed (like PostgreSQL authentication_timeout).'),
        maxUnauthenticatedConnections: z.number().int().min(1).default(64)
          .describe('Connections still logging in beyond this are closed at once, so idle sockets cannot take every slot from real logins.'),
      })
      .strict()
      .prefault({}),
    lockdown: z
      .object({
        applicationRoles: z.array(z.string()).default([]).describe('Roles applications log in as: lockdown revokes TRUNCATE, TRIGGER and REFERENCES and schema CREATE from them.'),
        schemas: z.array(z.string()).default(['public']).describe('Schemas whose tables get BEFORE TRUNCATE triggers and read-only grants.'),
        readOnlyRole: z.string().default('prodguard_readonly'),
        deployerRole: z.string().default('prodguard_deployer'),
      })
      .strict()
      .prefault({}),
    policy: z
      .object({
        threshold: z.number().int().min(1).default(2).describe('Senior signatures of the policy in force needed to change the policy (prodguard policy sign).'),
        dir: z.string().default('.prodguard/policy').describe('Where policy proposals and their signatures are written (in the repo, so they travel through pull requests).'),
        oidc: z
          .object({
            provider: z.enum(['github', 'gitlab']),
            issuer: z
              .string()
              .url()
              .refine((u) => /^https:\/\//.test(u) || /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(\/|$)/.test(u), 'the issuer must use https (plain http only for a loopback test issuer)')
              .describe('OIDC issuer, e.g. https://token.actions.githubusercontent.com or https://gitlab.com; https only (plain http only on loopback, for tests).'),
            audience: z.string().min(1).default('prodguard'),
            repository: z.string().min(1).describe('GitHub repository (owner/name) or GitLab project_path.'),
            ref: z.string().min(1).describe('The protected ref deploys run from, e.g. refs/heads/main (GitHub) or main (GitLab).'),
            environment: z.string().min(1).default('production').describe('The CI environment the deploy job runs in.'),
            workflow: z.string().optional().describe('GitHub workflow path, e.g. acme/app/.github/workflows/prodguard.yml; the token\'s job_workflow_ref must be this path @ `ref` (or exactly this value when it carries its own @ref).'),
            repositoryId: z.string().regex(/^\d+$/).optional().describe('GitHub repository_id (immutable); when set, the token must carry it.'),
            repositoryOwnerId: z.string().regex(/^\d+$/).optional().describe('GitHub repository_owner_id (immutable); when set, the token must carry it.'),
          })
          .strict()
          .optional()
          .describe('The CI identity that may deploy to production: claims its OIDC token must carry.'),
        environments: z
          .record(
            z.string(),
            z.object({ kind: z.enum(['local', 'staging', 'production']), envId: z.string().min(1), systemIdentifier: z.string().min(1), database: z.string().min(1) }).strict(),
          )
          .default({})
          .describe('Enrolled environment identities (written by prodguard env enroll).'),
        checkpointKey: z.string().nullable().default(null).describe('ed25519 public key (prodguard keys generate) of the CI/serve identity that signs audit checkpoints.'),
      })
      .strict()
      .prefault({})
      .describe('The security policy proposed by this working tree; it takes effect only when signed (prodguard policy).'),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type EnvironmentConfig = z.infer<typeof environmentSchema>;
export type Member = z.infer<typeof memberSchema>;
export type Destination = z.infer<typeof destinationSchema>;
export type SmokeTest = z.infer<typeof smokeTestSchema>;

/** JSON Schema for editors (yaml-language-server) and docs. */
export function configJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}

/** Parses "5s", "2min", "7d" to milliseconds (src/config/duration.ts, re-exported for existing importers). */
export { durationMs } from './duration.js';
