import { destinationPlaces } from '../independence.js';
import { humanAge, humanDuration } from '../units.js';
import type { StatusCheck, CheckResult } from '../types.js';
import type { Context } from '../../context.js';
import { safe } from './helpers.js';
import { durationMs } from '../../config/duration.js';
import { listBackups } from '../../backup/catalog.js';

/** Production environments: the ones rule 2 is about. */
function productionEnvs(ctx: Context): string[] {
  return Object.entries(ctx.loaded.config.environments).filter(([, e]) => e.kind === 'production').map(([n]) => n);
}

// Human durations everywhere (src/status/units.ts): "12 s ago", not "0.0 h ago".
const ago = humanAge;

/** Scorecard checks contributed by the backup layer. */
export const checks: StatusCheck[] = [
  {
    rule: 2,
    id: 'backup.recent-verified',
    title: 'newest verified backup is recent',
    run: safe(async (ctx) => {
      const maxAge = durationMs(ctx.loaded.config.backup.maxAge);
      const envs = productionEnvs(ctx);
      const lines: string[] = [];
      const details: Record<string, unknown> = {};
      let worst: CheckResult['state'] = 'ok';
      for (const env of envs) {
        const all = await listBackups(ctx, { env });
        const verified = all.find((m) => m.verified?.ok);
        const lastVerify = all.find((m) => m.verified);
        details[env] = { backups: all.length, newestVerified: verified?.id ?? null, verifiedAt: verified?.verified?.at ?? null };
        if (!verified) {
          worst = worst === 'failing' ? worst : all.length ? 'failing' : 'missing';
          lines.push(all.length ? `${env}: ${all.length} backup(s) but none verified by restore (run \`prodguard backup verify latest --env ${env}\`)` : `${env}: no backups (run \`prodguard backup create --env ${env}\`)`);
          continue;
        }
        const age = Date.now() - Date.parse(verified.finishedAt);
        if (lastVerify && !lastVerify.verified!.ok && lastVerify.startedAt > verified.startedAt) {
          worst = 'failing';
          lines.push(`${env}: the newest verification FAILED (${lastVerify.id}: ${lastVerify.verified!.problems[0] ?? 'unknown'})`);
        } else if (age > maxAge) {
          worst = 'failing';
          lines.push(`${env}: newest verified backup ${verified.id} is from ${ago(age)}, older than maxAge ${ctx.loaded.config.backup.maxAge}`);
        } else {
          // The catalog says verified; the files must still be there (a deleted backup is no backup).
          const { missingCopies } = await import('../../backup/presence.js');
          const gone = await missingCopies(ctx.loaded, verified);
          if (gone.length) {
            worst = 'failing';
            lines.push(`${env}: newest verified backup ${verified.id} is no longer complete: ${gone.join('; ')}`);
          } else lines.push(`${env}: ${verified.id} verified by restore (taken ${ago(age)}, restore took ${humanDuration(verified.verified!.durationMs)})`);
        }
      }
      return { state: worst, reason: lines.join('; ') || 'no production environment', details };
    }),
  },
  {
    rule: 2,
    id: 'backup.two-destinations',
    title: 'backups go to at least two places',
    run: safe(async (ctx) => {
      const d = ctx.loaded.config.backup.destinations;
      const desc = d.map((x) => `${x.name} (${x.type})`).join(', ');
      if (d.length === 0) return { state: 'missing', reason: 'no backup destinations in backup.destinations' };
      if (d.length < 2) return { state: 'failing', reason: `only one destination (${desc}); add a second, independent one (e.g. S3-compatible storage)` };
      // Independent places, not folders: two destinations on one disk are one copy (src/status/independence.ts).
      const { places, independent } = destinationPlaces(ctx.loaded);
      if (independent < 2) return { state: 'failing', reason: `${d.length} destinations but one place: ${[...places].map(([k, v]) => `${v.join(' + ')} on ${k}`).join('; ')}; add a second, independent one (other disk/host or S3-compatible storage)` };
      if (new Set(d.map((x) => x.type)).size < 2) return { state: 'ok', reason: `${d.length} destinations: ${desc} (consider different kinds/providers for independence)` };
      return { state: 'ok', reason: `${d.length} destinations: ${desc}` };
    }),
  },
  {
    rule: 2,
    id: 'backup.last-not-degraded',
    title: 'last backup reached every destination',
    run: safe(async (ctx) => {
      const lines: string[] = [];
      let state: CheckResult['state'] = 'ok';
      for (const env of productionEnvs(ctx)) {
        const [last] = await listBackups(ctx, { env });
        if (!last) {
          if (state === 'ok') state = 'missing';
          lines.push(`${env}: no backups yet`);
        } else if (last.degraded) {
          state = 'failing';
          const missing = ctx.loaded.config.backup.destinations.map((x) => x.name).filter((n) => !last.destinations.includes(n));
          lines.push(`${env}: last backup ${last.id} is DEGRADED — missing on ${missing.join(', ') || 'a destination'}`);
        } else lines.push(`${env}: last backup ${last.id} on ${last.destinations.join(', ')}`);
      }
      return { state, reason: lines.join('; ') || 'no production environment' };
    }),
  },
  {
    rule: 2,
    id: 'backup.encrypted',
    title: 'backups are encrypted',
    run: safe(async (ctx) => {
      const enc = ctx.loaded.config.backup.encryption;
      if (enc.noEncrypt) return { state: 'failing', reason: 'backup.encryption.noEncrypt is true: backups are stored in plain text' };
      if (enc.recipients.length === 0) return { state: 'missing', reason: 'no age recipients in backup.encryption.recipients (make a key with `prodguard backup keygen`)' };
      return { state: 'ok', reason: `encrypted with age to ${enc.recipients.length} recipient(s); identity read from ${enc.identityFile ?? `$${enc.identityEnv}`}` };
    }),
  },
  {
    rule: 2,
    id: 'backup.leftovers',
    title: 'no leftovers of crashed backups or restores',
    run: safe(async (ctx) => {
      const { findLeftovers } = await import('../../backup/leftovers.js');
      const l = await findLeftovers(ctx);
      const local = l.local.filter((x) => !x.running);
      const remote = l.destinations.filter((x) => !x.recent);
      const details = { local: local.map((x) => x.path), destinations: remote.map((x) => `${x.destination}:${x.key}`), databases: l.databases.map((x) => `${x.environment}:${x.database}`) };
      const copies = l.databases.filter((x) => x.kind !== 'old-staging');
      if (copies.length) return { state: 'failing', reason: `${copies.length} private database(s) of killed staging refreshes, verifies or restores may hold UNMASKED production rows on staging's server (${copies[0].environment}:${copies[0].database}); run \`prodguard backup prune --yes\``, details };
      const servers = local.filter((x) => x.serverPid !== null);
      if (servers.length) return { state: 'failing', reason: `${servers.length} throw-away PostgreSQL server(s) of killed verify/drill runs still running on restored data (${servers[0].path}, pid ${servers[0].serverPid}); run \`prodguard backup prune\``, details };
      if (local.length) return { state: 'failing', reason: `${local.length} working dir(s) of crashed runs in the temp dir may hold plaintext (${local[0].path}); run \`prodguard backup prune\``, details };
      if (l.databases.length) return { state: 'failing', reason: `${l.databases.length} database(s) left by killed staging refreshes (${l.databases[0].environment}:${l.databases[0].database}); run \`prodguard backup prune --yes\``, details };
      if (remote.length) return { state: 'failing', reason: `${remote.length} leftover object(s) of killed backups on destinations (${remote[0].destination}:${remote[0].key}); run \`prodguard backup prune\``, details };
      return { state: 'ok', reason: 'none (see `prodguard backup list --leftovers`)', details };
    }),
  },
];
