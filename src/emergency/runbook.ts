/**
 * The project's runbook, generated from the config and the live state so it cannot go stale the
 * way a wiki page does: who to call in order, the exact commands for this project's environments
 * (restore the latest backup, point-in-time restore, roll back the last migration), where the
 * backups are and who holds their keys, the last drill, and the communication plan.
 * Commands are shell-ready: what differs per person or incident is a shell variable
 * ($PRODGUARD_KEY, $INCIDENT), so the blocks can be pasted as they are.
 */
import type { Context } from '../context.js';
import { durationMs } from '../config/schema.js';
import { DRILLS_COLLECTION, type DrillRecord } from '../restore/drill-record.js';
import type { BackupManifest } from '../backup/manifest.js';
import { listBackups } from '../backup/catalog.js';

export interface RunbookProcedure {
  title: string;
  why: string;
  commands: string[];
}

export interface Runbook {
  project: string;
  generatedAt: string;
  production: string | null;
  scratchTarget: string | null;
  contacts: Array<{ order: number; name: string; role: string; phone: string | null; email: string | null; available: string; escalateAfter: string | null }>;
  procedures: RunbookProcedure[];
  backups: { destinations: string[]; encrypted: boolean; recipients: number; keyHolders: Array<{ name: string; holds: string }>; latest: { id: string; finishedAt: string; verified: boolean } | null };
  lastDrill: { at: string; ok: boolean; rtoSeconds: number; backupId: string | null } | null;
  drillInterval: string;
  communication: { internal: string; customerEmail: string; statusPage: string; statusPageUrl: string | null; configured: boolean };
  problems: string[];
}

const DEFAULT_TEMPLATES = {
  internal: '[INCIDENT] {what}. Impact: {impact}. Incident lead: {incident_lead}. Next update: {next_update}.',
  customerEmail: 'Subject: Service incident — {what}\n\nWe are investigating an incident: {what}. What this means for you: {impact}. We will update you by {next_update}.',
  statusPage: 'Investigating — {what}. Impact: {impact}. Next update by {next_update}.',
};

/** The problems `status` reports under rule 6; empty when the runbook is complete. */
export function runbookProblems(rb: Pick<Runbook, 'contacts' | 'communication'>): string[] {
  const p: string[] = [];
  if (rb.contacts.length === 0) p.push('no recovery contacts (runbook.contacts)');
  else if (!rb.contacts.some((c) => c.phone && /24\/7/.test(c.available))) p.push('no contact reachable 24/7 by phone');
  if (!rb.communication.configured) p.push('no communication plan (runbook.communication)');
  return p;
}

export async function buildRunbook(ctx: Context, now = new Date()): Promise<Runbook> {
  const cfg = ctx.loaded.config;
  const envs = Object.entries(cfg.environments);
  const production = envs.find(([, e]) => e.kind === 'production')?.[0] ?? null;
  const scratchTarget = envs.find(([, e]) => e.kind === 'staging')?.[0] ?? envs.find(([, e]) => e.kind !== 'production')?.[0] ?? null;
  const store = await ctx.store();
  let latest: BackupManifest | undefined;
  let preMigration: BackupManifest | undefined;
  if (production) {
    const all = await listBackups(ctx, { env: production });
    latest = all[0];
    preMigration = all.find((b) => /^pre-migration backup/.test(b.reason ?? ''));
  }
  const drills = (await store.list<DrillRecord>(DRILLS_COLLECTION, { limit: 50 })).map((d) => d.doc).sort((a, b) => (a.finishedAt < b.finishedAt ? 1 : -1));
  const drill = drills[0];

  const procedures: RunbookProcedure[] = [];
  if (production) {
    const to = scratchTarget ?? '<a scratch server URL>';
    // A staging scratch target refuses production's data unless --unmasked says so (restore/staging-gate.ts).
    const unmasked = scratchTarget && cfg.environments[scratchTarget]?.kind === 'staging' ? ' --unmasked' : '';
    procedures.push({
      title: 'Restore the latest backup',
      why: 'First into a new database on a non-production server and compare; then, only under break-glass, over production (production is backed up first). The backup id is pinned: break-glass takes a fresh backup of the damaged state, which then becomes "latest".',
      commands: [
        latest ? `BACKUP=${latest.id}  # the latest backup when this runbook was generated; newer ones: prodguard backup list` : 'BACKUP="$(prodguard backup list --json | node -e \'process.stdout.write(JSON.parse(require("fs").readFileSync(0))[0].id)\')"',
        `prodguard restore "$BACKUP" --env ${production} --to ${to} --new-database ${production}_check --json${unmasked}`,
        `prodguard break-glass --env ${production} --reason "$INCIDENT" --duration 30m --key "$PRODGUARD_KEY"`,
        `prodguard restore "$BACKUP" --env ${production} --to ${production} --replace --key "$PRODGUARD_KEY"`,
        `prodguard break-glass end --env ${production}`,
      ],
    });
    procedures.push({
      title: 'Point-in-time restore',
      why: 'Self-hosted PostgreSQL with the WAL archive on (prodguard pitr enable): recover a new data directory to the moment before the damage, start it, compare, switch over.',
      commands: [
        `prodguard pitr restore --env ${production} --time "$RESTORE_TIME" --to "$NEW_DATA_DIR"`,
        '# point the application (or a break-glass restore) at the recovered server once compared',
      ],
    });
    const id = preMigration?.id ?? '"$PRE_MIGRATION_BACKUP"';
    procedures.push({
      title: 'Roll back the last migration',
      why: preMigration
        ? `The last deploy's pre-migration backup is ${preMigration.id} (${preMigration.reason}). Restore it into a new database, compare with production, then switch over under break-glass.`
        : 'No pre-migration backup in the catalog yet; `prodguard backup list` shows them (reason "pre-migration backup …").',
      commands: [
        `prodguard restore ${id} --env ${production} --to ${to} --new-database ${production}_before_migration --json${unmasked}`,
        `prodguard migrate drift --env ${production}`,
        `prodguard break-glass --env ${production} --reason "$INCIDENT" --duration 30m --key "$PRODGUARD_KEY"`,
        `prodguard restore ${id} --env ${production} --to ${production} --replace --key "$PRODGUARD_KEY"`,
        `prodguard break-glass end --env ${production}`,
      ],
    });
  }
  const comm = cfg.runbook.communication;
  const rb: Runbook = {
    project: cfg.project.name,
    generatedAt: now.toISOString(),
    production,
    scratchTarget,
    contacts: cfg.runbook.contacts.map((c, i) => ({ order: i + 1, name: c.name, role: c.role, phone: c.phone ?? null, email: c.email ?? null, available: c.available, escalateAfter: c.escalateAfter ?? null })),
    procedures,
    backups: {
      destinations: cfg.backup.destinations.map((d) => `${d.name} (${d.type}${'path' in d && d.path ? `: ${d.path}` : 'bucket' in d && d.bucket ? `: ${d.bucket}` : ''})`),
      encrypted: cfg.backup.encryption.recipients.length > 0,
      recipients: cfg.backup.encryption.recipients.length,
      keyHolders: cfg.runbook.keyHolders,
      latest: latest ? { id: latest.id, finishedAt: latest.finishedAt, verified: !!latest.verified?.ok } : null,
    },
    lastDrill: drill ? { at: drill.finishedAt, ok: drill.ok, rtoSeconds: Math.round(drill.rtoMs / 1000), backupId: drill.backupId } : null,
    drillInterval: cfg.drills.interval,
    communication: {
      internal: comm?.internal ?? DEFAULT_TEMPLATES.internal,
      customerEmail: comm?.customerEmail ?? DEFAULT_TEMPLATES.customerEmail,
      statusPage: comm?.statusPage ?? DEFAULT_TEMPLATES.statusPage,
      statusPageUrl: comm?.statusPageUrl ?? null,
      configured: !!comm && !!(comm.internal || comm.customerEmail || comm.statusPage),
    },
    problems: [],
  };
  rb.problems = runbookProblems(rb);
  if (!drill) rb.problems.push('no restore drill recorded (prodguard restore drill)');
  else if (now.getTime() - Date.parse(drill.finishedAt) > durationMs(cfg.drills.interval)) rb.problems.push(`last drill ${drill.finishedAt} is older than drills.interval (${cfg.drills.interval})`);
  return rb;
}
