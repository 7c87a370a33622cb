/**
 * Delivers one event to every configured channel. The URL lives in a variable (urlEnv), never in
 * the config. Each channel gets `retries` extra attempts with exponential back-off (retryDelay,
 * doubled each time); a channel that still fails is recorded in the store (NOTIFY_FAILURES) when
 * one is given, so `status` shows it. Never throws: a notification must not break the operation
 * it reports on.
 */
import { randomUUID } from 'node:crypto';
import type { LoadedConfig } from '../config/load.js';
import { durationMs } from '../config/schema.js';
import { maskDeep, maskSecrets } from '../security/mask.js';
import type { StateStore } from '../store/store.js';
import { channelBody } from './channels.js';
import type { NotifyEvent } from './events.js';
import { recordNotifyFailure } from './failures.js';
import { sendEmailOnce } from './email.js';

export interface NotifyOutcome {
  webhook: string;
  ok: boolean;
  attempts?: number;
  error?: string;
}

export interface SendOptions {
  store?: StateStore;
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
  /** Overrides the config (tests, `notify test --no-retry`). */
  retries?: number;
  retryDelayMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function postOnce(url: string, body: unknown, timeoutMs: number): Promise<string | null> {
  try {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'user-agent': 'prodguard' }, body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel().catch(() => {});
    return res.ok ? null : `HTTP ${res.status}`;
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    return maskSecrets(e.cause?.code ? `${e.message} (${e.cause.code})` : e.message);
  }
}

export async function sendNotification(loaded: LoadedConfig, ev: NotifyEvent, opts: SendOptions = {}): Promise<NotifyOutcome[]> {
  const cfg = loaded.config.notifications;
  const env = opts.env ?? process.env;
  const retries = opts.retries ?? cfg.retries;
  const firstDelay = opts.retryDelayMs ?? durationMs(cfg.retryDelay);
  const safe = maskDeep(ev);
  const timeoutMs = opts.timeoutMs ?? 10_000;
  // Every channel as (name, one attempt or a reason it cannot be tried).
  const channels: Array<{ name: string; once: (() => Promise<string | null>) | null; missing?: string }> = cfg.webhooks.map((hook) => {
    const url = env[hook.urlEnv];
    const body = channelBody(hook.format, safe);
    return url ? { name: hook.name, once: () => postOnce(url, body, timeoutMs) } : { name: hook.name, once: null, missing: `$${hook.urlEnv} is not set` };
  });
  if (cfg.email) {
    const email = cfg.email;
    channels.push({ name: email.name, once: () => sendEmailOnce(email, safe, env, timeoutMs) });
  }
  return Promise.all(channels.map(async (ch): Promise<NotifyOutcome> => {
    const hook = ch;
    let error: string | null = ch.missing ?? null;
    let attempts = 0;
    if (ch.once) {
      for (let i = 0; i <= retries; i++) {
        if (i > 0) await sleep(firstDelay * 2 ** (i - 1));
        attempts++;
        error = await ch.once();
        if (!error) break;
      }
    }
    if (!error) return { webhook: hook.name, ok: true, attempts };
    if (opts.store) {
      await recordNotifyFailure(opts.store, {
        id: `nf-${randomUUID()}`, channel: hook.name, event: ev.event, environment: ev.environment, summary: safe.summary, attempts, error, at: new Date().toISOString(),
      }).catch(() => {});
    }
    return { webhook: hook.name, ok: false, attempts, error };
  }));
}

/** The usual call from a command: the project name and time filled in, failures stored. */
export async function notifyEvent(
  ctx: { loaded: LoadedConfig; store(): Promise<StateStore> },
  e: Omit<NotifyEvent, 'project' | 'at'> & { at?: string },
  opts: Omit<SendOptions, 'store'> = {},
): Promise<NotifyOutcome[]> {
  if (ctx.loaded.config.notifications.webhooks.length === 0 && !ctx.loaded.config.notifications.email) return [];
  let store: StateStore | undefined;
  try {
    store = await ctx.store();
  } catch {
    store = undefined;
  }
  return sendNotification(ctx.loaded, { project: ctx.loaded.config.project.name, at: new Date().toISOString(), ...e }, { ...opts, store });
}
