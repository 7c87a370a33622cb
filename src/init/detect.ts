/** What kind of project `prodguard init` is looking at. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseToml } from 'smol-toml';

export interface DetectedLayout {
  layout: 'supabase' | 'plain';
  migrationsDir: string;
  /** The project ref `supabase link` recorded (what --linked means), if any. */
  linkedRef: string | null;
  /** project_id from supabase/config.toml, used as the project name. */
  name: string | null;
}

export function detectLayout(dir: string): DetectedLayout {
  const supabase = existsSync(join(dir, 'supabase/config.toml')) || existsSync(join(dir, 'supabase/migrations'));
  if (supabase) {
    const refFile = join(dir, 'supabase/.temp/project-ref');
    const linkedRef = existsSync(refFile) ? readFileSync(refFile, 'utf8').trim() || null : null;
    let name: string | null = null;
    const toml = join(dir, 'supabase/config.toml');
    if (existsSync(toml)) name = projectId(readFileSync(toml, 'utf8'));
    return { layout: 'supabase', migrationsDir: 'supabase/migrations', linkedRef, name };
  }
  for (const d of ['migrations', 'db/migrations', 'prisma/migrations']) {
    if (existsSync(join(dir, d))) return { layout: 'plain', migrationsDir: d, linkedRef: null, name: null };
  }
  return { layout: 'plain', migrationsDir: 'migrations', linkedRef: null, name: null };
}

/** project_id of a supabase/config.toml; null when absent or the file is not valid TOML. */
function projectId(text: string): string | null {
  try {
    const id = parseToml(text).project_id;
    return typeof id === 'string' && id ? id : null;
  } catch {
    return null;
  }
}
