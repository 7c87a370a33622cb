/**
 * Rule 3's evidence for the deploy gate, read from the staging database itself — never from a
 * local row (one INSERT into the local store used to forge a staging pass). A pending production
 * migration has passed staging when the migration history of an environment the policy in force
 * enrolled as staging holds the same version with the same content (prodguard layout: the file's
 * sha256; Supabase layout: the same statements), and that database really is the enrolled one
 * (so a scratch database declared `kind: staging` in a branch earns nothing).
 */
import { tryConnectionUrl } from '../config/connection.js';
import type { LoadedConfig } from '../config/load.js';
import { withClient } from '../pg/client.js';
import { errorMessage } from '../errors.js';
import type { EnvironmentIdentity } from '../policy/document.js';
import { identityMismatch, readFacts } from '../policy/environment-identity.js';
import { historyExists, historyTarget, readApplied, splitStatements } from './history.js';
import type { MigrationFile } from './files.js';

export interface StagingEvidence {
  /** file@sha256 of every pending migration found applied with the same content on an enrolled staging. */
  passed: Set<string>;
  /** Enrolled staging environments that could not be used, and why. */
  problems: string[];
  /** The enrolled staging environments that were read. */
  read: string[];
}

export async function stagingEvidence(loaded: LoadedConfig, pending: MigrationFile[], pinned: Record<string, EnvironmentIdentity>): Promise<StagingEvidence> {
  const out: StagingEvidence = { passed: new Set(), problems: [], read: [] };
  const t = historyTarget(loaded);
  const staging = Object.entries(pinned).filter(([, p]) => p.kind === 'staging');
  if (staging.length === 0) out.problems.push('no staging environment is enrolled in the policy in force (prodguard env enroll --env <staging>, then sign the policy)');
  for (const [name, p] of staging) {
    const url = tryConnectionUrl(loaded, name);
    if (!url) {
      out.problems.push(`${name}: no connection configured`);
      continue;
    }
    try {
      await withClient(url, async (c) => {
        const diff = identityMismatch(await readFacts(c), p);
        if (diff) {
          out.problems.push(`${name}: the database reached is not the enrolled staging (${diff})`);
          return;
        }
        out.read.push(name);
        if (t.kind === 'prodguard') {
          const applied = await readApplied(c, t);
          for (const m of pending) if (applied.some((a) => a.version === m.version && a.sha256 === m.sha256)) out.passed.add(`${m.file}@${m.sha256}`);
          return;
        }
        if (!(await historyExists(c, t))) return;
        const rows = (await c.query(`SELECT version::text AS version, statements FROM ${t.qualified}`)).rows as Array<{ version: string; statements: string[] | null }>;
        for (const m of pending) {
          const row = rows.find((r) => r.version === m.version);
          if (row?.statements && JSON.stringify(row.statements) === JSON.stringify(await splitStatements(m.sql))) out.passed.add(`${m.file}@${m.sha256}`);
        }
      });
    } catch (err) {
      out.problems.push(`${name}: cannot read its migration history (${errorMessage(err)})`);
    }
  }
  return out;
}
