/**
 * Durations as prodguard.yaml and the CLI write them ("500ms", "5s", "2min", "4h", "7d"). Its own
 * module so the CLI can parse a flag without loading the config schema (zod) at start-up.
 */
export const DURATION = /^(\d+)(ms|s|min|h|d)$/;

/** Parses "5s", "2min", "7d" to milliseconds. */
export function durationMs(d: string): number {
  const m = DURATION.exec(d);
  if (!m) throw new Error(`bad duration ${d}`);
  const n = Number(m[1]);
  const unit = { ms: 1, s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'min' | 'h' | 'd'];
  return n * unit;
}
