/**
 * What a command needs from the project: the loaded config, the state store (opened lazily:
 * the guard hook must stay fast) and the audit log. One place, so every command audits the same way.
 */
import { loadConfig, configPath, type LoadedConfig } from './config/load.js';
import { openStore } from './store/open.js';
import type { StateStore } from './store/store.js';
import { AuditLog, type AuditInput, type AuditRecord } from './audit/log.js';

export const AUDIT_HEAD_KEY = 'audit.head';

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
  const auditLog = new AuditLog(configPath(loaded, loaded.config.state.auditLog), async (head) => {
    await (await store()).setMeta(AUDIT_HEAD_KEY, JSON.stringify(head));
  });
  return {
    loaded,
    store,
    auditLog,
    async audit(input) {
      const rec = await auditLog.append(input);
      // A team store keeps an append-only copy (src/audit/anchor.ts): the local file alone can be rewritten.
      const s = await store();
      if (s.appendAudit) {
        const { auditOrigin } = await import('./audit/anchor.js');
        await s.appendAudit(auditOrigin(auditLog.file), rec);
      }
      return rec;
    },
    async close() {
      if (storePromise) await (await storePromise).close();
      storePromise = null;
    },
  };
}

export function openContext(opts: ContextOptions = {}): Context {
  return contextFrom(loadConfig({ cwd: opts.cwd, file: opts.configFile }));
}
