/**
 * getopt-style argument parsing for the tools the guard knows: clustered short flags (`-tAc sql`),
 * split flags (`-r -f`), `--long=value` and `--long value`, and `--`.
 */
export interface ArgSpec {
  /** Short options that take a value, e.g. "cdfhpU". */
  short?: string;
  /** Long options (without --) that take a value. */
  long?: string[];
}

export interface ParsedArgs {
  /** Options in order: name is the letter or the long name; value is true for flags. */
  opts: Array<{ name: string; value: string | true }>;
  positionals: string[];
  /** Arguments after `--`. */
  rest: string[];
}

export function parseArgs(args: string[], spec: ArgSpec = {}): ParsedArgs {
  const short = spec.short ?? '';
  const long = new Set(spec.long ?? []);
  const out: ParsedArgs = { opts: [], positionals: [], rest: [] };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') {
      out.rest = args.slice(i + 1);
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      if (eq > 0) out.opts.push({ name: a.slice(2, eq), value: a.slice(eq + 1) });
      else if (long.has(a.slice(2)) && i + 1 < args.length) out.opts.push({ name: a.slice(2), value: args[++i] });
      else out.opts.push({ name: a.slice(2), value: true });
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const ch = a[j];
        if (short.includes(ch)) {
          const rest = a.slice(j + 1).replace(/^=/, '');
          if (rest) out.opts.push({ name: ch, value: rest });
          else if (i + 1 < args.length) out.opts.push({ name: ch, value: args[++i] });
          else out.opts.push({ name: ch, value: true });
          break;
        }
        out.opts.push({ name: ch, value: true });
      }
      continue;
    }
    out.positionals.push(a);
  }
  return out;
}

/** Every value of an option given by any of its names. */
export function optValues(p: ParsedArgs, ...names: string[]): string[] {
  return p.opts.filter((o) => names.includes(o.name) && typeof o.value === 'string').map((o) => o.value as string);
}

export function optValue(p: ParsedArgs, ...names: string[]): string | undefined {
  const v = optValues(p, ...names);
  return v[v.length - 1];
}

export function hasOpt(p: ParsedArgs, ...names: string[]): boolean {
  return p.opts.some((o) => names.includes(o.name));
}
