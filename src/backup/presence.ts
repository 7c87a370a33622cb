/**
 * Is a backup still where its manifest says it is? The catalog (state store) remembers that a
 * backup was made and verified; the files can be deleted afterwards (red-team ap-077: every
 * backup file removed, status still green). A cheap existence check of the manifest and every
 * object on each destination — not a verification (that is `backup verify`, which hashes and
 * restores) — so status can say "gone" instead of "verified".
 */
import { openDestinations, closeDestinations } from './destinations/index.js';
import { backupFolder, MANIFEST_NAME, type BackupManifest } from './manifest.js';
import { manifestDestinations } from './materialize.js';
import type { LoadedConfig } from '../config/load.js';
import { errorMessage } from '../errors.js';

/** Problem lines ("on <destination>: <n> of <m> objects missing"), empty when every copy is complete. */
export async function missingCopies(loaded: LoadedConfig, m: BackupManifest): Promise<string[]> {
  const all = openDestinations(loaded);
  const dests = manifestDestinations(all, m);
  const folder = backupFolder(m.environment, m.id);
  const keys = [MANIFEST_NAME, ...m.objects.map((o) => o.name)].map((n) => `${folder}/${n}`);
  const problems: string[] = [];
  try {
    for (const d of dests) {
      try {
        let missing = 0;
        for (let i = 0; i < keys.length; i += 8) {
          const found = await Promise.all(keys.slice(i, i + 8).map((k) => d.exists(k)));
          missing += found.filter((x) => !x).length;
        }
        if (missing) problems.push(`on ${d.name}: ${missing} of ${keys.length} files of backup ${m.id} are gone`);
      } catch (err) {
        problems.push(`on ${d.name}: cannot check backup ${m.id} (${errorMessage(err)})`);
      }
    }
  } finally {
    // Close every destination opened, not only the manifest's ones.
    await closeDestinations(all);
  }
  return problems;
}
