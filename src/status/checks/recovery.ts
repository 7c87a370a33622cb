import { supabasePitr } from '../../supabase/pitr.js';
import { humanBytes, humanDuration } from '../units.js';
import type { StatusCheck } from '../types.js';
import { durationMs } from '../../config/schema.js';
import { DRILLS_COLLECTION } from '../../restore/drill-record.js';
import { pitrStatus } from '../../restore/pitr/status.js';
import { shadowPitrLine } from '../../shadow/status-line.js';

// Human durations and sizes everywhere (src/status/units.ts): "5 s", not "0.0 h"; "16.0 MiB", not raw bytes.
const hours = humanDuration;

/** Scorecard checks contributed by the recovery layer. */
export const checks: StatusCheck[] = [
  {
    rule: 6,
    id: 'recovery.drill-recent',
    title: 'A restore drill succeeded recently',
    async run(ctx) {
      type DrillRecord = import('../../restore/drill-record.js').DrillRecord;
      const interval = durationMs(ctx.loaded.config.drills.interval);
      const store = await ctx.store();
      const all = await store.list<DrillRecord>(DRILLS_COLLECTION, { order: 'newest', limit: 200 });
      const good = all.find((d) => d.doc.ok);
      const lastFailed = all[0] && !all[0].doc.ok ? all[0].doc : null;
      if (!good) {
        return {
          state: lastFailed ? 'failing' : 'missing',
          reason: lastFailed ? `no successful restore drill; the last one failed: ${lastFailed.error ?? 'verification failed'}` : 'no restore drill has ever run: run `prodguard drill --env production`',
        };
      }
      const age = Date.now() - Date.parse(good.doc.finishedAt);
      const desc = `last good drill ${hours(age)} ago (${good.doc.environment}, RTO ${humanDuration(good.doc.rtoMs)}${good.doc.rpoMs !== null ? `, RPO ${hours(good.doc.rpoMs)}` : ''})`;
      if (age > interval) return { state: 'failing', reason: `${desc}; older than drills.interval ${ctx.loaded.config.drills.interval}`, details: { drill: good.doc.id } };
      return { state: 'ok', reason: desc, details: { drill: good.doc.id, rtoMs: good.doc.rtoMs, rpoMs: good.doc.rpoMs } };
    },
  },
  {
    rule: 2,
    id: 'recovery.guarantees',
    title: 'Recovery guarantees of production (point-in-time recovery)',
    async run(ctx) {
      const { config } = ctx.loaded;
      const prods = Object.entries(config.environments).filter(([, e]) => e.kind === 'production');
      const lines: string[] = [];
      let state: 'ok' | 'missing' | 'failing' = 'ok';
      const details: Record<string, unknown> = {};
      const worse = (s: 'missing' | 'failing') => {
        if (state === 'failing') return;
        state = s;
      };
      for (const [name, e] of prods) {
        const s = await pitrStatus(ctx.loaded, name).catch(() => null);
        // A Supabase ref means hosted, unless prodguard's own PITR archive proves WAL access (self-hosted Supabase).
        if (e.supabaseRef && (!s || s.baseBackups === 0)) {
          // A shadow (src/shadow/) gives a hosted production prodguard's own PITR through a logical replica.
          const sh = await shadowPitrLine(ctx, name).catch(() => null);
          if (sh) {
            lines.push(sh.line);
            details[name] = { hosted: true, pitr: 'shadow', ...sh.details };
            if (sh.state === 'failing') state = 'failing';
            continue;
          }
          // Supabase hook (src/supabase/pitr.ts): the platform's PITR add-on, read or declared.
          const sb = await supabasePitr(ctx.loaded, e.supabaseRef);
          if (sb.enabled) {
            lines.push(`${name}: ${sb.reason}; plus logical daily dumps`);
            details[name] = { hosted: true, pitr: sb.source, ...(sb.earliest ? { earliest: sb.earliest, latest: sb.latest } : {}) };
            continue;
          }
          if (sb.source === 'api') {
            lines.push(`${name}: ${sb.reason}`);
            details[name] = { hosted: true, pitr: 'api' };
            worse('missing');
            continue;
          }
          lines.push(`${name}: hosted Supabase: PITR only via the platform add-on; prodguard provides logical daily dumps (RPO ≤ 24 h); ${sb.reason}`);
          details[name] = { hosted: true };
          worse('missing');
          continue;
        }
        if (!s || s.baseBackups === 0) {
          lines.push(`${name}: no point-in-time recovery (run \`prodguard pitr enable --env ${name}\` and \`prodguard pitr base-backup --env ${name}\`); logical dumps only`);
          worse('missing');
          continue;
        }
        details[name] = { earliest: s.earliest, latest: s.latest, gaps: s.gaps, lagBytes: s.server?.lagBytes ?? null };
        if (s.gaps.length) {
          lines.push(`${name}: WAL archive has ${s.gaps.length} missing segment(s), first ${s.gaps[0]}: no recovery past it`);
          state = 'failing';
          continue;
        }
        const st = s.server?.streaming;
        const lag = !s.server?.reachable
          ? ', server unreachable'
          : st && st.active
            ? `, receiver lag ${humanBytes(st.lagBytes)}`
            : st
              ? `, streaming receiver NOT connected (its slot holds WAL on the server; ${humanBytes(s.server.lagBytes)} not in a completed segment)`
              : `, archive lag ${humanBytes(s.server.lagBytes)}`;
        lines.push(`${name}: PITR (${s.method}) window ${s.earliest} → ${s.latest}${lag}`);
        if (s.server?.archiverFailing) {
          lines.push(`${name}: archive_command is failing (last failure on ${s.server.lastFailedWal}, ${s.server.failedCount} failure(s) in total)`);
          worse('failing');
        }
      }
      return { state, reason: lines.join('; ') || 'no production environment configured', details };
    },
  },
];
