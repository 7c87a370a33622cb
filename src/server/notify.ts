/**
 * The minimal notification hook: POST a JSON event to every `notifications.webhooks` entry.
 * The URL lives in a variable (urlEnv), never in the config. A webhook that fails is reported
 * back to the caller (and recorded on the job run) but never stops the scheduler; the
 * emergency layer builds richer notifications on top of this.
 */
import type { LoadedConfig } from '../config/load.js';
import { maskDeep, maskSecrets } from '../security/mask.js';

export interface NotifyEvent {
  event: 'job.failed' | 'job.recovered';
  project: string;
  job: string;
  environment: string | null;
  summary: string;
  at: string;
  runId: string;
}

export interface NotifyOutcome {
  webhook: string;
  ok: boolean;
  error?: string;
}

export async function notify(loaded: LoadedConfig, ev: NotifyEvent, env: Record<string, string | undefined> = process.env, timeoutMs = 10_000): Promise<NotifyOutcome[]> {
  const out: NotifyOutcome[] = [];
  const safe = maskDeep(ev);
  for (const hook of loaded.config.notifications.webhooks) {
    const url = env[hook.urlEnv];
    if (!url) {
      out.push({ webhook: hook.name, ok: false, error: `$${hook.urlEnv} is not set` });
      continue;
    }
    const body = hook.format === 'slack'
      ? { text: `:rotating_light: prodguard ${safe.project}: ${safe.job} ${ev.event === 'job.failed' ? 'FAILED' : 'recovered'}${safe.environment ? ` (${safe.environment})` : ''} — ${safe.summary}` }
      : safe;
    try {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'user-agent': 'prodguard' }, body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
      out.push(res.ok ? { webhook: hook.name, ok: true } : { webhook: hook.name, ok: false, error: `HTTP ${res.status}` });
    } catch (err) {
      out.push({ webhook: hook.name, ok: false, error: maskSecrets((err as Error).message) });
    }
  }
  return out;
}
