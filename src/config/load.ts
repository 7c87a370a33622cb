/**
 * Finding, reading and validating prodguard.yaml. Every problem is reported with the line of
 * the file it is on, so `prodguard config check` can list them all at once.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import { configSchema, type Config } from './schema.js';
import { UsageError } from '../errors.js';
import { CONFIG_FILE, findConfigFile } from './find.js';

// Finding the file is config/find.ts's (no YAML, no schema); re-exported for existing callers.
export { CONFIG_FILE, findConfigFile };

export interface ConfigProblem {
  line: number;
  column: number;
  path: string;
  message: string;
}

export interface LoadedConfig {
  config: Config;
  /** Absolute path of prodguard.yaml. */
  file: string;
  /** Directory holding prodguard.yaml; relative paths in the config are relative to it. */
  root: string;
}

/** Validates YAML text; returns the config or every problem with its line. */
export function checkConfigText(text: string): { config: Config | null; problems: ConfigProblem[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const problems: ConfigProblem[] = [];
  for (const err of doc.errors) {
    const pos = lineCounter.linePos(err.pos[0]);
    problems.push({ line: pos.line, column: pos.col, path: '', message: err.message.split('\n')[0] });
  }
  if (problems.length) return { config: null, problems };
  const raw = doc.toJS() ?? {};
  const result = configSchema.safeParse(raw);
  if (result.success) return { config: result.data, problems };
  for (const issue of result.error.issues) {
    const path = issue.path.map(String);
    let message = issue.message;
    if (issue.code === 'unrecognized_keys') {
      // Point at the unknown key itself, not its parent.
      for (const key of issue.keys) {
        const at = locate(doc, lineCounter, [...path, key], true);
        problems.push({ ...at, path: [...path, key].join('.'), message: `unknown key "${key}"` });
      }
      continue;
    }
    if (issue.code === 'invalid_type' && /received undefined/.test(message)) message = 'is required';
    const at = locate(doc, lineCounter, path, false);
    problems.push({ ...at, path: path.join('.') || '(top level)', message });
  }
  problems.sort((a, b) => a.line - b.line || a.column - b.column);
  return { config: null, problems };
}

function locate(doc: Document, lc: LineCounter, path: string[], preferKey: boolean): { line: number; column: number } {
  // Walk down as far as the path exists; a missing key is reported at its parent.
  for (let n = path.length; n >= 0; n--) {
    const sub = path.slice(0, n);
    if (preferKey && n === path.length && n > 0) {
      const parent = sub.length > 1 ? doc.getIn(sub.slice(0, -1), true) : doc.contents;
      const pair = isNode(parent) && 'items' in parent
        ? (parent as unknown as { items: Array<{ key: unknown }> }).items.find((p) => isNode(p.key) && String((p.key as { value?: unknown }).value) === sub[sub.length - 1])
        : undefined;
      const keyNode = pair?.key as { range?: [number, number, number] } | undefined;
      if (keyNode?.range) return toPos(lc, keyNode.range[0]);
      continue;
    }
    const node = n === 0 ? doc.contents : doc.getIn(sub, true);
    if (isNode(node) && node.range) return toPos(lc, node.range[0]);
  }
  return { line: 1, column: 1 };
}

function toPos(lc: LineCounter, offset: number) {
  const p = lc.linePos(offset);
  return { line: p.line, column: p.col };
}

/** Loads and validates the config; a problem is a one-line UsageError naming file and line. */
export function loadConfig(opts: { cwd?: string; file?: string } = {}): LoadedConfig {
  const file = opts.file ? resolve(opts.cwd ?? process.cwd(), opts.file) : findConfigFile(opts.cwd);
  if (!file) {
    throw new UsageError(`no ${CONFIG_FILE} found in ${opts.cwd ?? process.cwd()} or its parents; run \`prodguard init\` first`, 'config.missing');
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, 'config.unreadable', err);
  }
  const { config, problems } = checkConfigText(text);
  if (!config) {
    const first = problems[0];
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more; run \`prodguard config check\`)` : '';
    throw new UsageError(`${file}:${first.line}: ${first.path ? first.path + ': ' : ''}${first.message}${more}`, 'config.invalid');
  }
  return { config, file, root: dirname(file) };
}

/** Resolves a path from the config relative to the config's directory. */
export function configPath(loaded: Pick<LoadedConfig, 'root'>, p: string): string {
  return resolve(loaded.root, p);
}
