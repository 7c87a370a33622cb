/**
 * Grandfather-father-son retention: keep the newest backup of each of the last `daily` days,
 * `weekly` ISO weeks and `monthly` months (per environment), plus everything younger than
 * `minAge`, plus the newest verified backup whatever its age. Everything else may go. Pure:
 * decides, never deletes.
 */
import type { BackupManifest } from './manifest.js';

export interface RetentionPolicy {
  daily: number;
  weekly: number;
  monthly: number;
  minAgeMs: number;
}

export interface RetentionDecision {
  keep: Array<{ id: string; environment: string; why: string[] }>;
  remove: Array<{ id: string; environment: string; startedAt: string }>;
}

function isoWeek(d: Date): string {
  const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  const day = t.getUTCDay() || 7;
  t.setUTCDate(t.getUTCDate() + 4 - day);
  const yearStart = new Date(Date.UTC(t.getUTCFullYear(), 0, 1));
  const week = Math.ceil(((t.getTime() - yearStart.getTime()) / 86_400_000 + 1) / 7);
  return `${t.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

export function decideRetention(backups: BackupManifest[], policy: RetentionPolicy, now: Date = new Date()): RetentionDecision {
  const byEnv = new Map<string, BackupManifest[]>();
  for (const b of backups) byEnv.set(b.environment, [...(byEnv.get(b.environment) ?? []), b]);
  const keep: RetentionDecision['keep'] = [];
  const remove: RetentionDecision['remove'] = [];
  for (const [env, list] of byEnv) {
    const sorted = [...list].sort((a, b) => (a.startedAt < b.startedAt ? 1 : -1));
    const why = new Map<string, string[]>();
    const mark = (id: string, reason: string) => why.set(id, [...(why.get(id) ?? []), reason]);
    const buckets = (key: (d: Date) => string, count: number, label: string) => {
      const seen = new Set<string>();
      for (const b of sorted) {
        if (seen.size >= count) break;
        const k = key(new Date(b.startedAt));
        if (seen.has(k)) continue;
        seen.add(k);
        mark(b.id, `${label} ${k}`);
      }
    };
    buckets((d) => d.toISOString().slice(0, 10), policy.daily, 'daily');
    buckets(isoWeek, policy.weekly, 'weekly');
    buckets((d) => d.toISOString().slice(0, 7), policy.monthly, 'monthly');
    for (const b of sorted) if (now.getTime() - Date.parse(b.startedAt) < policy.minAgeMs) mark(b.id, 'younger than minAge');
    const newestVerified = sorted.find((b) => b.verified?.ok);
    if (newestVerified) mark(newestVerified.id, 'newest verified backup');
    for (const b of sorted) {
      const w = why.get(b.id);
      if (w) keep.push({ id: b.id, environment: env, why: w });
      else remove.push({ id: b.id, environment: env, startedAt: b.startedAt });
    }
  }
  return { keep, remove };
}
