/**
 * Where production's backups may go and whom they are encrypted to, as part of the signed policy
 * (red team ap-078). `backup.destinations` and `backup.encryption` in prodguard.yaml are working
 * tree, editable by anyone with the repo: a destination or age recipient added there would receive
 * the next legitimate backup of production. So the policy pins them, and a backup of production
 * whose configured destinations/recipients are not exactly the pinned ones is refused
 * (src/backup/destination-policy.ts).
 *
 * A destination is identified by where its bytes go, not by its name (a label):
 * - local: `local:<absolute path>` — canonical: a relative path resolved against the directory of
 *   the prodguard.yaml in use, then the deepest existing ancestor's realpath (symlinks resolved),
 *   so neither another --config, another cwd nor a committed symlink moves a signed destination
 *   (red team w5c-023/024/025/026/035/085). Policies signed before this pinned relative paths as
 *   written; those no longer match anything and the seniors re-sign (docs/security.md);
 * - S3: `s3://<bucket>/<prefix>/ at <endpoint> (<region>)` — endpoint normalized by URL parsing
 *   (lowercase host, default port dropped, no trailing slash), `aws` when none; prefix as the S3
 *   destination uses it (trailing slashes dropped).
 * `${VAR}` references are pinned as written: the value then comes from wherever the backup runs
 * (CI secrets, the server's environment) — docs/security.md says what that trusts.
 * Recipients are age public keys (sorted, deduplicated); `encrypted: false` pins noEncrypt.
 */
import { realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, posix, resolve } from 'node:path';
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

/**
 * Where a local path really is: absolute (relative to `root`), through the realpath of its deepest
 * existing ancestor. Without `root` a relative path stays as written (pure, for tests/comparison);
 * a `${VAR}` path stays as written (its value comes from where the backup runs).
 */
export function canonicalLocalPath(p: string, root?: string): string {
  const n = normalizePath(p);
  if (n.includes('${') || (!isAbsolute(n) && !root)) return n;
  const abs = resolve(root ?? '/', n);
  const tail: string[] = [];
  let head = abs;
  for (;;) {
    try {
      return join(realpathSync(head), ...tail.reverse());
    } catch {
      const parent = dirname(head);
      if (parent === head) return abs;
      tail.push(basename(head));
      head = parent;
    }
  }
}

export function destinationIdentity(d: DestinationConfig, root?: string): string {
  if (d.type === 'local') return `local:${canonicalLocalPath(d.path, root)}`;
  const prefix = d.prefix ? d.prefix.replace(/\/+$/, '') + '/' : '';
  return `s3://${d.bucket.trim()}/${prefix} at ${d.endpoint ? normalizeEndpoint(d.endpoint) : 'aws'} (${d.region})`;
}

const sortedUnique = (xs: string[]) => [...new Set(xs)].sort();

/** `root`: the directory of the prodguard.yaml in use (LoadedConfig.root), for local paths. */
export function backupTermsFromConfig(config: Config, root?: string): BackupTerms {
  const enc = config.backup.encryption;
  return {
    destinations: sortedUnique(config.backup.destinations.map((d) => destinationIdentity(d, root))),
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
  const relative = missing.filter((d) => d.startsWith('local:') && !d.includes('${') && !isAbsolute(d.slice('local:'.length)));
  if (relative.length) {
    diffs.push(
      `the policy signs relative local path(s) (${relative.join(', ')}) from before destinations were pinned by absolute path: ` +
        'which directory they meant cannot be known, so the seniors re-sign them (prodguard policy propose + policy sign)',
    );
  }
  if (pinned.encrypted !== actual.encrypted) diffs.push(actual.encrypted ? 'the policy signs unencrypted backups' : 'backup.encryption.noEncrypt is set but the policy signs encrypted backups');
  const extraR = actual.recipients.filter((r) => !pinned.recipients.includes(r));
  const missingR = pinned.recipients.filter((r) => !actual.recipients.includes(r));
  if (extraR.length) diffs.push(`recipient(s) not in the policy: ${extraR.join(', ')}`);
  if (missingR.length) diffs.push(`signed recipient(s) not configured: ${missingR.join(', ')}`);
  return diffs.length ? diffs.join('; ') : null;
}
