/**
 * `prodguard guard -- <cmd…>`: decide, take and verify a backup when the decision is
 * backup-first, then run the command with inherited stdio and pass its exit code through.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { LoadedConfig } from '../config/load.js';
import { RefusedError } from '../errors.js';
import type { GuardDecision } from './decide.js';
import { durationMs } from '../config/duration.js';
import { contextFrom } from '../context.js';

export interface BackupFirstResult {
  backupId: string;
  reused: boolean;
}

/** A verified backup of `env` no older than guard.backupMaxAge: reuse one, or take one and verify it. */
export async function ensureFreshVerifiedBackup(loaded: LoadedConfig, env: string, reason: string, say: (s: string) => void): Promise<BackupFirstResult> {
  const { latestVerifiedBackup, createBackup, verifyBackup } = await import('../backup/index.js');
  const ctx = contextFrom(loaded);
  try {
    const maxAge = durationMs(loaded.config.guard.backupMaxAge);
    const fresh = await latestVerifiedBackup(ctx, env, maxAge);
    if (fresh) {
      say(`prodguard: using verified backup ${fresh.id} of ${env} (within ${loaded.config.guard.backupMaxAge})`);
      return { backupId: fresh.id, reused: true };
    }
    say(`prodguard: no verified backup of ${env} within ${loaded.config.guard.backupMaxAge}; taking one first`);
    const b = await createBackup(ctx, { env, reason });
    if (b.degraded) throw new RefusedError(`backup ${b.id} of ${env} is degraded (a destination failed); not running the command`, 'guard.backup-degraded');
    const v = await verifyBackup(ctx, b.id);
    if (!v.ok) throw new RefusedError(`backup ${b.id} of ${env} failed verification (${v.problems.join('; ')}); not running the command`, 'guard.backup-unverified');
    say(`prodguard: backup ${b.id} taken and verified`);
    return { backupId: b.id, reused: false };
  } finally {
    await ctx.close();
  }
}

export function runCommand(argv: string[], cwd: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const useShell = argv.length === 1 && /\s|[;&|<>$`]/.test(argv[0]);
    const child = useShell ? spawn('/bin/sh', ['-c', argv[0]], { stdio: 'inherit', cwd }) : spawn(argv[0], argv.slice(1), { stdio: 'inherit', cwd });
    child.on('error', (err) => reject(new RefusedError(`cannot run ${argv[0]}: ${err.message}`, 'guard.spawn')));
    child.on('exit', (code, signal) => {
      if (signal) {
        resolve(128 + ((constants.signals as Record<string, number>)[signal] ?? 1));
      } else resolve(code ?? 1);
    });
  });
}
