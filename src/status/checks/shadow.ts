import type { StatusCheck } from '../types.js';
import { shadowPitrLine } from '../../shadow/status-line.js';

/** Scorecard checks contributed by the shadow layer (PITR for hosted production through a logical replica). */
export const checks: StatusCheck[] = [
  {
    rule: 2,
    id: 'shadow.pitr',
    title: 'Shadow PITR of hosted production (replication lag, recoverable window)',
    async run(ctx) {
      const prods = Object.entries(ctx.loaded.config.environments).filter(([, e]) => e.kind === 'production');
      const lines: string[] = [];
      const details: Record<string, unknown> = {};
      let failing = false;
      for (const [name, e] of prods) {
        const l = await shadowPitrLine(ctx, name).catch((err: Error) => ({ state: 'failing' as const, line: `${name}: cannot check the shadow: ${err.message}`, details: {} }));
        if (!l) {
          if (e.supabaseRef) lines.push(`${name}: no shadow (prodguard shadow enable --env ${name} --shadow <environment> gives hosted production PITR with seconds of RPO)`);
          continue;
        }
        lines.push(l.line);
        details[name] = l.details;
        if (l.state === 'failing') failing = true;
      }
      // Not having a shadow is not a failure by itself: recovery.guarantees says whether PITR exists at all.
      return { state: failing ? 'failing' : 'ok', reason: lines.join('; ') || 'no shadow configured (only needed for hosted production)', details };
    },
  },
];
