/**
 * Where production's backups may go and whom they are encrypted to, as part of the signed policy
 * (red team ap-078). `backup.destinations` and `backup.encryption` in prodguard.yaml are working
 * tree, editable by anyone with the repo: a destination or age recipient added there would receive
 * the next legitimate backup of production. So the policy pins them, and a backup of production
 * whose configured destinations/recipients are not exactly the pinned ones is refused
 * (src/backup/destination-policy.ts).
 *
 * A destination is identified by where its bytes go, not by its name (a label):
 * - local: `local:<path>` — the path as written, normalized (`./a/../b/` → `b`); a relative path
 *   is relative to prodguard.yaml's directory;
 * - S3: `s3://<bucket>/<prefix>/ at <endpoint> (<region>)` — endpoint normalized by URL parsing
 *   (lowercase host, default port dropped, no trailing slash), `aws` when none; prefix as the S3
 *   destination uses it (trailing slashes dropped).
 * `${VAR}` references are pinned as written: the value then comes from wherever the backup runs
 * (CI secrets, the server's environment) — docs/security.md says what that trusts.
 * Recipients are age public keys (sorted, deduplicated); `encrypted: false` pins noEncrypt.
 */
import { posix } from 'node:path';
import type { Config, Destination as DestinationConfig } from '../config/schema.js';

export interface BackupTerms {
  /** Destination identities (destinationIdentity), sorted, unique. */
  destinations: string[];
  /** age X25519 public keys (age1…), sorted, unique; empty when not encrypted. */
  recipients: string[];
  encrypted: boolean;
}

function normalizePath(p: string): string {
  const n = posix.normalize(p.trim().replace(/\\/g, '/'));
  return n.length > 1 ? n.replace(/\/+$/, '') : n;
}

function normalizeEndpoint(e: string): string {
  const t = e.trim();
  if (t.includes('${')) return t.replace(/\/+$/, '');
  try {
    const u = new URL(t);
    const path = u.pathname.replace(/\/+$/, '');
    return `${u.protocol}//${u.host}${path}`;
  } catch {
    return t.toLowerCase().replace(/\/+$/, '');
  }
}

export function destinationIdentity(d: DestinationConfig): string {
  if (d.type === 'local') return `local:${normalizePath(d.path)}`;
  const prefix = d.prefix ? d.prefix.replace(/\/+$/, '') + '/' : '';
  return `s3://${d.bucket.trim()}/${prefix} at ${d.endpoint ? normalizeEndpoint(d.endpoint) : 'aws'} (${d.region})`;
}

const sortedUnique = (xs: string[]) => [...new Set(xs)].sort();

export function backupTermsFromConfig(config: Config): BackupTerms {
  const enc = config.backup.encryption;
  return {
    destinations: sortedUnique(config.backup.destinations.map(destinationIdentity)),
    recipients: enc.noEncrypt ? [] : sortedUnique(enc.recipients.map((r) => r.trim())),
    encrypted: !enc.noEncrypt,
  };
}

/**
 * How the configured terms differ from the pinned ones, as one line (null: exactly the same).
 * `pinned` undefined: a policy from before destinations were pinned — it authorises none.
 */
export function backupTermsDifference(pinned: BackupTerms | undefined, actual: BackupTerms): string | null {
  if (!pinned) return 'the policy in force signs no backup destinations or recipients yet';
  const diffs: string[] = [];
  const extra = actual.destinations.filter((d) => !pinned.destinations.includes(d));
  const missing = pinned.destinations.filter((d) => !actual.destinations.includes(d));
  if (extra.length) diffs.push(`destination(s) not in the policy: ${extra.join(', ')}`);
  if (missing.length) diffs.push(`signed destination(s) not configured: ${missing.join(', ')}`);
  if (pinned.encrypted !== actual.encrypted) diffs.push(actual.encrypted ? 'the policy signs unencrypted backups' : 'backup.encryption.noEncrypt is set but the policy signs encrypted backups');
  const extraR = actual.recipients.filter((r) => !pinned.recipients.includes(r));
  const missingR = pinned.recipients.filter((r) => !actual.recipients.includes(r));
  if (extraR.length) diffs.push(`recipient(s) not in the policy: ${extraR.join(', ')}`);
  if (missingR.length) diffs.push(`signed recipient(s) not configured: ${missingR.join(', ')}`);
  return diffs.length ? diffs.join('; ') : null;
}
