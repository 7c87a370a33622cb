import type { StatusCheck } from '../types.js';
import { safe } from './helpers.js';
import { tryConnectionUrl } from '../../config/connection.js';
import { lockdownStatus } from '../../lockdown/lockdown.js';

/** Rule 4: the lockdown inside every production database is installed and untouched. */
export const checks: StatusCheck[] = [
  {
    rule: 4,
    id: 'lockdown.production',
    title: 'lockdown installed and intact in production',
    run: safe(async (ctx) => {
      const l = ctx.loaded.config.lockdown;
      const prods = Object.entries(ctx.loaded.config.environments).filter(([, e]) => e.kind === 'production').map(([n]) => n);
      const results: string[] = [];
      let worst: 'ok' | 'missing' | 'failing' = 'ok';
      for (const env of prods) {
        const url = tryConnectionUrl(ctx.loaded, env);
        if (!url) {
          results.push(`${env}: connection URL not available here`);
          if (worst === 'ok') worst = 'missing';
          continue;
        }
        const st = await lockdownStatus(url, await ctx.store(), env, { schemas: l.schemas, applicationRoles: l.applicationRoles, readOnlyRole: l.readOnlyRole, deployerRole: l.deployerRole });
        if (st.state === 'tampered') worst = 'failing';
        else if (st.state === 'absent' && worst === 'ok') worst = 'missing';
        results.push(st.state === 'tampered' ? `${env}: TAMPERED — ${st.problems[0]}` : st.state === 'absent' ? `${env}: not installed (prodguard lockdown apply --env ${env})` : `${env}: intact`);
      }
      return { state: worst, reason: results.join('; ') || 'no production environment' };
    }),
  },
];
