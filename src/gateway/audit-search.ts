/** Searching the main audit log and the gateway's per-statement log together (`prodguard audit search`). */
import { existsSync, readFileSync } from 'node:fs';
import type { Context } from '../context.js';
import { configPath } from '../config/load.js';
import type { AuditRecord } from '../audit/log.js';

export interface AuditFilter {
  person?: string;
  env?: string;
  verdict?: string;
  action?: string;
  limit?: number;
}

function readJsonl(file: string): AuditRecord[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').flatMap((l) => {
    if (!l.trim()) return [];
    try {
      return [JSON.parse(l) as AuditRecord];
    } catch {
      return [];
    }
  });
}

/**
 * The main log and this machine's gateway log, plus — with a team store — the records every
 * machine and gateway anchored there (records of a deleted local log included: red team ap-051).
 * A record found twice (this machine's file and its copy in the store) is listed once.
 */
export async function searchAudit(ctx: Context, f: AuditFilter): Promise<AuditRecord[]> {
  const all = [...ctx.auditLog.read(), ...readJsonl(configPath(ctx.loaded, ctx.loaded.config.gateway.auditLog))];
  if (ctx.loaded.config.state.store === 'postgres') {
    const store = await ctx.store();
    if (store.searchAudit) {
      all.push(...((await store.searchAudit({ actionPrefix: f.action ?? '', person: f.person, env: f.env, verdict: f.verdict, limit: f.limit ?? 10_000 })) as AuditRecord[]));
    }
  }
  const seen = new Set<string>();
  const hits = all.filter((r) => {
    if (seen.has(r.hash)) return false;
    seen.add(r.hash);
    return (
      (!f.person || r.actor === f.person || (r.details as { user?: string } | undefined)?.user === f.person) &&
      (!f.env || r.target === f.env) &&
      (!f.verdict || r.verdict === f.verdict) &&
      (!f.action || r.action.startsWith(f.action))
    );
  });
  hits.sort((a, b) => a.time.localeCompare(b.time));
  return f.limit ? hits.slice(Math.max(0, hits.length - f.limit)) : hits;
}
