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

export function searchAudit(ctx: Context, f: AuditFilter): AuditRecord[] {
  const all = [...ctx.auditLog.read(), ...readJsonl(configPath(ctx.loaded, ctx.loaded.config.gateway.auditLog))];
  const hits = all.filter(
    (r) =>
      (!f.person || r.actor === f.person || (r.details as { user?: string } | undefined)?.user === f.person) &&
      (!f.env || r.target === f.env) &&
      (!f.verdict || r.verdict === f.verdict) &&
      (!f.action || r.action.startsWith(f.action)),
  );
  hits.sort((a, b) => a.time.localeCompare(b.time));
  return f.limit ? hits.slice(Math.max(0, hits.length - f.limit)) : hits;
}
