/**
 * One unit policy for everything a person reads (scorecard, demo, drills): durations and ages as
 * human durations ("8 s", "4 min", "5.2 h", "3.1 days"), sizes in binary units ("12.0 KiB").
 * A recovery point of five seconds is "5 s" everywhere, never "0.0 h" in one place and "5 s" in another.
 */
export function humanDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '?';
  const s = Math.max(0, ms) / 1000;
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 90) return `${Math.round(s)} s`;
  const min = s / 60;
  if (min < 90) return `${Math.round(min)} min`;
  const h = min / 60;
  if (h < 48) return `${h.toFixed(1)} h`;
  return `${(h / 24).toFixed(1)} days`;
}

export function humanAge(ms: number): string {
  return `${humanDuration(ms)} ago`;
}

export function humanBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '?';
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}
