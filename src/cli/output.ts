/** Printing results: JSON for scripts (--json), short human text otherwise. Data on stdout, talk on stderr. */
import { maskDeep, maskSecrets } from '../security/mask.js';

export interface OutputOptions {
  json?: boolean;
}

export function emit(opts: OutputOptions, data: unknown, human: () => string): void {
  if (opts.json) process.stdout.write(JSON.stringify(maskDeep(data), null, 2) + '\n');
  else {
    const text = maskSecrets(human());
    if (text) process.stdout.write(text.endsWith('\n') ? text : text + '\n');
  }
}

/** Progress and notes for humans go to stderr so stdout stays parseable. */
export function note(message: string): void {
  process.stderr.write(maskSecrets(message) + '\n');
}

/** Renders rows as an aligned text table. */
export function table(headers: string[], rows: Array<Array<string | number>>): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (c ?? '').padEnd(widths[i])).join('  ').trimEnd()).join('\n');
}
