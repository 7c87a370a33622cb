/**
 * What a command needs from the project: the loaded config, the state store (opened lazily:
 * the guard hook must stay fast) and the audit log. One place, so every command audits the same way.
 */
import { loadConfig, configPath, type LoadedConfig } from './config/load.js';
import { openStore } from './store/open.js';
import type { StateStore } from './store/store.js';
import { AuditLog, type AuditInput, type AuditRecord } from './audit/log.js';
import { auditOrigin } from './audit/anchor.js';

/** Before w6: ONE head for every origin writing to the team store (red team w5c-074). Read only as a fallback. */
export const AUDIT_HEAD_KEY = 'audit.head';
/** The head of one origin's log (src/audit/anchor.ts auditOrigin): several machines share a team store. */
export const auditHeadKey = (origin: string) => `${AUDIT_HEAD_KEY}:${origin}`;

/**
 * This log's head as the state store remembers it. Each origin has its own row, so another machine
 * writing last never reads as records cut off here (w5c-074). A store from before keeps one shared
 * `audit.head`: it counts only when it is a record of this log (else it is another machine's).
 */
export async function readAuditHead(ctx: Pick<Context, 'store' | 'auditLog'>): Promise<{ seq: number; hash: string } | null> {
  const store = await ctx.store();
  const own = await store.getMeta(auditHeadKey(auditOrigin(ctx.auditLog.file)));
  if (own) return JSON.parse(own) as { seq: number; hash: string };
  const legacy = await store.getMeta(AUDIT_HEAD_KEY);
  if (!legacy) return null;
  const head = JSON.parse(legacy) as { seq: number; hash: string };
  return ctx.auditLog.read().some((r) => r.seq === head.seq && r.hash === head.hash) ? head : null;
}

export interface Context {
  loaded: LoadedConfig;
  store(): Promise<StateStore>;
  audit(input: AuditInput): Promise<AuditRecord>;
  auditLog: AuditLog;
  close(): Promise<void>;
}

export interface ContextOptions {
  cwd?: string;
  configFile?: string;
}

export function contextFrom(loaded: LoadedConfig): Context {
  let storePromise: Promise<StateStore> | null = null;
  const store = () => (storePromise ??= openStore(loaded));
  // A job that is deliberately given no team store (a pull-request CI job: no secrets) still
  // audits locally; every command that needs state opens the store itself and fails there.
  const storeForAudit = async (): Promise<StateStore | null> => {
    try {
      return await store();
    } catch (err) {
      if ((err as { code?: string }).code === 'config.missing-url') return null;
      throw err;
    }
  };
  const auditFile = configPath(loaded, loaded.config.state.auditLog);
  const auditLog = new AuditLog(auditFile, async (head) => {
    await (await storeForAudit())?.setMeta(auditHeadKey(auditOrigin(auditFile)), JSON.stringify(head));
  });
  return {
    loaded,
    store,
    auditLog,
    async audit(input) {
      const rec = await auditLog.append(input);
      // A team store keeps an append-only copy (src/audit/anchor.ts): the local file alone can be rewritten.
      const s = await storeForAudit();
      if (s?.appendAudit) {
        await s.appendAudit(auditOrigin(auditLog.file), rec);
      }
      return rec;
    },
    async close() {
      // A store that never opened has nothing to close (its error was reported where it was used).
      if (storePromise) await (await storePromise.catch(() => null))?.close();
      storePromise = null;
    },
  };
}

export function openContext(opts: ContextOptions = {}): Context {
  return contextFrom(loadConfig({ cwd: opts.cwd, file: opts.configFile }));
}
