/**
 * Hosted Supabase point-in-time recovery: the platform's PITR add-on, read from the Management API
 * (GET /v1/projects/{ref}/database/backups, read-only) when an access token is configured, else
 * taken from the config's `supabase.pitr: addon` declaration and shown as declared — a declaration
 * is something the restrained person can edit, so it is never reported as proven.
 */
import type { LoadedConfig } from '../config/load.js';
import { maskSecrets } from '../security/mask.js';
import { errorMessage } from '../errors.js';

export interface SupabasePitr {
  /** 'api': read from the Management API; 'declared': from the config only; 'none': no PITR known. */
  source: 'api' | 'declared' | 'none';
  enabled: boolean;
  reason: string;
  earliest?: string;
  latest?: string;
}

interface BackupsResponse {
  pitr_enabled?: boolean;
  walg_enabled?: boolean;
  physical_backup_data?: { earliest_physical_backup_date_unix?: number; latest_physical_backup_date_unix?: number };
}

const iso = (unix?: number) => (typeof unix === 'number' ? new Date(unix * 1000).toISOString() : undefined);

export async function supabasePitr(loaded: LoadedConfig, ref: string, opts: { timeoutMs?: number } = {}): Promise<SupabasePitr> {
  const cfg = loaded.config.supabase;
  const token = process.env[cfg.accessTokenEnv];
  if (token) {
    const url = `${cfg.apiUrl.replace(/\/+$/, '')}/v1/projects/${encodeURIComponent(ref)}/database/backups`;
    try {
      const res = await fetch(url, { method: 'GET', headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' }, signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000) });
      if (!res.ok) return { source: 'api', enabled: false, reason: `Supabase Management API answered ${res.status} for project ${ref}'s backups (check ${cfg.accessTokenEnv})` };
      const body = (await res.json()) as BackupsResponse;
      const earliest = iso(body.physical_backup_data?.earliest_physical_backup_date_unix);
      const latest = iso(body.physical_backup_data?.latest_physical_backup_date_unix);
      if (body.pitr_enabled) {
        return { source: 'api', enabled: true, reason: `Supabase PITR add-on enabled (Management API)${earliest ? `, window ${earliest} → ${latest ?? '?'}` : ''}`, ...(earliest ? { earliest } : {}), ...(latest ? { latest } : {}) };
      }
      return { source: 'api', enabled: false, reason: `Supabase PITR add-on is not enabled on project ${ref} (Management API); enable it or run prodguard's own PITR on a self-hosted copy` };
    } catch (err) {
      return { source: 'api', enabled: false, reason: `cannot read project ${ref}'s backups from the Supabase Management API: ${maskSecrets(errorMessage(err))}` };
    }
  }
  if (cfg.pitr === 'addon') return { source: 'declared', enabled: true, reason: `Supabase PITR add-on declared in prodguard.yaml (supabase.pitr: addon), not verified — set ${cfg.accessTokenEnv} to read it from the Management API` };
  return { source: 'none', enabled: false, reason: `if the add-on is enabled, declare it (supabase.pitr: addon) or set ${cfg.accessTokenEnv} so status reads it from the Management API` };
}
