/**
 * Who counts as senior. Read through this one function so the source can move from the config's
 * team to the signed, pinned policy (#12) without touching break-glass.
 */
import type { LoadedConfig } from '../config/load.js';
import type { Member } from '../config/schema.js';

export function seniorMembers(loaded: LoadedConfig): Member[] {
  return loaded.config.team.filter((m) => m.role === 'senior');
}
