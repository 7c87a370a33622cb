/**
 * The shell parser: tree-sitter-bash (a real grammar, not regular expressions) turned into the
 * simple commands a shell would run, in order, with their words evaluated as far as the guard can
 * know them (quotes, escapes, known variables). A word the guard cannot know is `value: null`.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Node as TsNode, Parser as TsParser } from 'web-tree-sitter';

let parserPromise: Promise<TsParser> | null = null;

/** Loads the wasm grammar once per process (about 150 ms; only when a command needs parsing). */
export function loadShellParser(): Promise<TsParser> {
  parserPromise ??= (async () => {
    const { Parser, Language } = await import('web-tree-sitter');
    await Parser.init();
    const require = createRequire(import.meta.url);
    const wasm = join(dirname(require.resolve('tree-sitter-bash/package.json')), 'tree-sitter-bash.wasm');
    const language = await Language.load(wasm);
    const parser = new Parser();
    parser.setLanguage(language);
    return parser;
  })();
  return parserPromise;
}

export interface Word {
  /** The word as the shell would pass it, or null when it depends on something the guard cannot see. */
  value: string | null;
  /** Source text. */
  raw: string;
  /** Why the value is unknown ("$X is not set", "$(…) output"). */
  why?: string;
}

export type Stdin =
  | { kind: 'none' }
  | { kind: 'text'; text: string; from: string }
  | { kind: 'file'; path: string | null }
  | { kind: 'pipe'; from: SimpleCommand[] };

export interface SimpleCommand {
  assigns: Array<{ name: string; value: string | null }>;
  words: Word[];
  stdin: Stdin;
  /** Files this command writes with `>`/`>>`. */
  writes: Array<string | null>;
  text: string;
}

export interface ShellParse {
  commands: SimpleCommand[];
  /** Variables after running the assignments in order (for later commands in the same line). */
  vars: Record<string, string | undefined>;
  /** Syntax errors: the shell would refuse or read it differently than we do. */
  errors: string[];
  /** Files written with known content (`cat > x.sh <<EOF`, `echo … > x.sql`), path → content. */
  files: Map<string, string>;
  /** A summary of the syntax tree for --explain. */
  outline: string[];
}

export async function parseShell(source: string, vars: Record<string, string | undefined>): Promise<ShellParse> {
  const parser = await loadShellParser();
  const tree = parser.parse(source);
  if (!tree) return { commands: [], vars, errors: ['the shell parser returned nothing'], files: new Map(), outline: [] };
  const w = new Walker({ ...vars });
  try {
    w.statement(tree.rootNode);
    collectErrors(tree.rootNode, w.errors);
    // A variable whose value the guard does not know is passed on as unknown, not as its last literal value.
    const vars = { ...w.vars };
    for (const k of w.unknownVars) vars[k] = UNKNOWN_VALUE;
    return { commands: w.commands, vars, errors: w.errors, files: w.files, outline: outline(tree.rootNode) };
  } finally {
    tree.delete();
  }
}

function collectErrors(n: TsNode, out: string[]): void {
  if (n.type === 'ERROR' || n.isMissing) {
    out.push(`cannot parse near "${n.text.slice(0, 40)}"`);
    return;
  }
  if (!n.hasError) return;
  for (const c of n.children) if (c) collectErrors(c, out);
}

function outline(root: TsNode): string[] {
  const lines: string[] = [];
  const visit = (n: TsNode, depth: number) => {
    if (!n.isNamed) return;
    const leaf = n.namedChildCount === 0;
    if (depth < 8) lines.push(`${'  '.repeat(depth)}${n.type}${leaf ? ` ${JSON.stringify(n.text.slice(0, 60))}` : ''}`);
    for (const c of n.namedChildren) if (c) visit(c, depth + 1);
  };
  visit(root, 0);
  return lines.slice(0, 200);
}

const ANSI_ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', e: '\x1b', E: '\x1b', f: '\f', v: '\v', '\\': '\\', "'": "'", '"': '"', '?': '?' };

function decodeAnsiC(body: string): string {
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const ch = body[i];
    if (ch !== '\\' || i + 1 >= body.length) {
      out += ch;
      continue;
    }
    const nx = body[++i];
    if (nx in ANSI_ESCAPES) out += ANSI_ESCAPES[nx];
    else if (nx === 'x') {
      const hex = /^[0-9a-fA-F]{1,2}/.exec(body.slice(i + 1))?.[0] ?? '';
      out += String.fromCharCode(parseInt(hex || '0', 16));
      i += hex.length;
    } else if (nx === 'u' || nx === 'U') {
      const hex = /^[0-9a-fA-F]{1,8}/.exec(body.slice(i + 1))?.[0] ?? '';
      out += String.fromCodePoint(parseInt(hex || '0', 16));
      i += hex.length;
    } else if (/[0-7]/.test(nx)) {
      const oct = /^[0-7]{1,3}/.exec(body.slice(i))?.[0] ?? nx;
      out += String.fromCharCode(parseInt(oct, 8));
      i += oct.length - 1;
    } else out += '\\' + nx;
  }
  return out;
}

/** Unquoted word: a backslash quotes the next character. */
function unescapeBare(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\' && i + 1 < text.length) {
      if (text[i + 1] !== '\n') out += text[i + 1];
      i++;
    } else out += text[i];
  }
  return out;
}

/** Inside double quotes a backslash only quotes $ ` " \ and newline. */
function unescapeDouble(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\' && i + 1 < text.length && '$`"\\\n'.includes(text[i + 1])) {
      if (text[i + 1] !== '\n') out += text[i + 1];
      i++;
    } else out += text[i];
  }
  return out;
}

class Walker {
  commands: SimpleCommand[] = [];
  errors: string[] = [];
  files = new Map<string, string>();
  constructor(public vars: Record<string, string | undefined>) {}

  statement(n: TsNode, stdin: Stdin = { kind: 'none' }): SimpleCommand[] {
    switch (n.type) {
      case 'command':
        return [this.command(n, stdin, [])];
      case 'redirected_statement':
        return this.redirected(n, stdin);
      case 'pipeline': {
        let prev: SimpleCommand[] = [];
        let all: SimpleCommand[] = [];
        let first = true;
        for (const c of n.namedChildren) {
          if (!c) continue;
          const input: Stdin = first ? stdin : { kind: 'pipe', from: prev };
          prev = this.statement(c, input);
          // `… | tee file` writes what it receives.
          for (const cmd of prev) this.noteTee(cmd);
          all = all.concat(prev);
          first = false;
        }
        return all;
      }
      case 'variable_assignment': {
        const { name, value } = this.assignment(n);
        this.vars[name] = value ?? undefined;
        // A value set under control flow (&&, ||, if, loops, subshells, functions) may or may not
        // be in force later: the guard does not know it.
        if (value === null || this.conditional > 0) this.unknownVars.add(name);
        else this.unknownVars.delete(name);
        if (name === 'IFS') this.ifsChanged = true;
        return [];
      }
      case 'declaration_command': {
        // export/declare/local/readonly NAME=value …; declare -n makes a reference (unknown).
        const nameref = n.namedChildren.some((c) => c?.type === 'word' && /^-[a-zA-Z]*n/.test(c.text));
        // `export $(grep … .env.production | xargs)`: which variables it sets is unknown.
        if (n.namedChildren.some((c) => c && c.type !== 'variable_assignment' && c.type !== 'variable_name' && c.type !== 'word' && this.word(c).value === null)) {
          for (const k of CONNECTION_VARS) {
            this.vars[k] = undefined;
            this.unknownVars.add(k);
          }
        }
        for (const c of n.namedChildren) {
          if (c?.type === 'variable_assignment') {
            this.statement(c);
            if (nameref) this.unknownVars.add(c.childForFieldName('name')?.text ?? '');
          } else if (c && (c.type === 'variable_name' || c.type === 'word') && nameref && !c.text.startsWith('-')) this.unknownVars.add(c.text);
        }
        return [];
      }
      case 'list': {
        // `a && b || c`: only the first command surely runs.
        let out: SimpleCommand[] = [];
        let first = true;
        for (const c of n.namedChildren) {
          if (!c) continue;
          if (!first) this.conditional++;
          try {
            out = out.concat(this.statement(c, stdin));
          } finally {
            if (!first) this.conditional--;
          }
          first = false;
        }
        return out;
      }
      case 'if_statement':
      case 'while_statement':
      case 'for_statement':
      case 'c_style_for_statement':
      case 'case_statement':
      case 'subshell': {
        this.conditional++;
        try {
          return this.walkChildren(n, stdin);
        } finally {
          this.conditional--;
        }
      }
      case 'comment':
        return [];
      case 'function_definition': {
        // Analysed as if called: a function defined on the command line is there to be run.
        const body = n.childForFieldName('body');
        this.conditional++;
        try {
          return body ? this.statement(body, stdin) : [];
        } finally {
          this.conditional--;
        }
      }
      default:
        return this.walkChildren(n, stdin);
    }
  }

  private walkChildren(n: TsNode, stdin: Stdin): SimpleCommand[] {
    let out: SimpleCommand[] = [];
    for (const c of n.namedChildren) {
      if (!c) continue;
      if (c.type === 'command_substitution' || c.type === 'process_substitution') {
        this.substitution(c);
        continue;
      }
      if (/expansion|string|word|concatenation|number|raw_string|variable_name/.test(c.type) && n.type !== 'program') {
        // Conditions, for-lists, case words: evaluate for the substitutions they run.
        this.word(c);
        continue;
      }
      out = out.concat(this.statement(c, stdin));
    }
    return out;
  }

  unknownVars = new Set<string>();
  /** Variables unset on the line (they no longer come from the environment). */
  unset = new Set<string>();
  /** Depth of control flow around the current statement (assignments there are unknown after). */
  conditional = 0;
  /** IFS was assigned: unquoted expansions split in ways the guard does not model. */
  ifsChanged = false;

  private noteTee(cmd: SimpleCommand): void {
    if (cmd.words[0]?.value !== 'tee' || (cmd.stdin.kind !== 'pipe' && cmd.stdin.kind !== 'text')) return;
    const text = cmd.stdin.kind === 'pipe' ? pipeText(cmd.stdin.from) : cmd.stdin.text;
    for (const w of cmd.words.slice(1)) if (w.value && !w.value.startsWith('-')) this.files.set(w.value, text ?? UNKNOWN_CONTENT);
  }

  private redirected(n: TsNode, stdin: Stdin): SimpleCommand[] {
    const body = n.childForFieldName('body');
    let input = stdin;
    const writes: Array<string | null> = [];
    for (const r of n.childrenForFieldName('redirect')) {
      if (!r) continue;
      if (r.type === 'heredoc_redirect') {
        const b = r.namedChildren.find((c) => c?.type === 'heredoc_body');
        const quoted = /^['"\\]/.test(r.namedChildren.find((c) => c?.type === 'heredoc_start')?.text ?? '');
        const text = b ? (quoted ? b.text : this.heredocText(b)) : '';
        input = text === null ? { kind: 'text', text: UNKNOWN_CONTENT, from: 'heredoc' } : { kind: 'text', text, from: 'heredoc' };
        // A heredoc can be followed by more of the pipeline/list inside the redirect node.
        for (const c of r.namedChildren) {
          if (c && c.type !== 'heredoc_body' && c.type !== 'heredoc_start' && c.type !== 'heredoc_end' && !/redirect/.test(c.type)) {
            this.pendingAfterHeredoc.push(c);
          }
        }
      } else if (r.type === 'herestring_redirect') {
        const target = r.namedChildren[r.namedChildren.length - 1];
        const v = target ? this.word(target) : { value: null, raw: '' };
        input = { kind: 'text', text: v.value === null ? UNKNOWN_CONTENT : v.value + '\n', from: 'here-string' };
      } else if (r.type === 'file_redirect') {
        const op = r.children.find((c) => c && !c.isNamed)?.text ?? '';
        const dest = r.childForFieldName('destination') ?? r.namedChildren[r.namedChildren.length - 1];
        const v = dest ? this.word(dest) : { value: null, raw: '' };
        if (op === '<') input = { kind: 'file', path: v.value };
        else if (op.includes('>') && !op.includes('&') && !/^\d*>&/.test(op)) writes.push(v.value);
      }
    }
    const cmds = body ? this.statement(body, input) : [];
    for (const cmd of cmds.slice(-1)) {
      cmd.writes.push(...writes);
      for (const path of writes) {
        if (path === null) continue;
        const text = outputText(cmd);
        this.files.set(path, text ?? UNKNOWN_CONTENT);
      }
    }
    let extra: SimpleCommand[] = [];
    const pending = this.pendingAfterHeredoc.splice(0);
    for (const p of pending) extra = extra.concat(this.statement(p, { kind: 'pipe', from: cmds }));
    return cmds.concat(extra);
  }

  private pendingAfterHeredoc: TsNode[] = [];

  private heredocText(b: TsNode): string | null {
    // Unquoted heredoc: expansions apply. Keep literal text, substitute what we know.
    let out = '';
    let pos = b.startIndex;
    let unknown = false;
    for (const c of b.namedChildren) {
      if (!c) continue;
      out += b.text.slice(pos - b.startIndex, c.startIndex - b.startIndex);
      const v = this.word(c);
      if (v.value === null) unknown = true;
      out += v.value ?? '';
      pos = c.endIndex;
    }
    out += b.text.slice(pos - b.startIndex);
    return unknown ? null : out;
  }

  private assignment(n: TsNode): { name: string; value: string | null } {
    const name = n.childForFieldName('name')?.text ?? '';
    const valueNode = n.childForFieldName('value');
    const value = valueNode ? this.word(valueNode).value : '';
    return { name, value };
  }

  private command(n: TsNode, stdin: Stdin, writes: Array<string | null>): SimpleCommand {
    const assigns: SimpleCommand['assigns'] = [];
    const words: Word[] = [];
    let extraStdin: Stdin | null = null;
    for (const c of n.namedChildren) {
      if (!c) continue;
      if (c.type === 'variable_assignment') assigns.push(this.assignment(c));
      else if (c.type === 'command_name') words.push(...this.fields(c.namedChildren[0] ?? c));
      else if (c.type === 'file_redirect' || c.type === 'herestring_redirect') {
        const fake = this.redirectInfo(c);
        if (fake.stdin) extraStdin = fake.stdin;
        if (fake.write !== undefined) writes.push(fake.write);
      } else if (c.type === 'heredoc_redirect') {
        // handled by the parent redirected_statement
      } else words.push(...this.fields(c));
    }
    this.noteReads(words);
    if (words[0]?.value === 'unset') for (const w of words.slice(1)) if (w.value && !w.value.startsWith('-')) { this.vars[w.value] = undefined; this.unknownVars.delete(w.value); this.unset.add(w.value); }
    const cmd: SimpleCommand = { assigns, words, stdin: extraStdin ?? stdin, writes, text: n.text };
    if (extraStdin) this.noteTee(cmd);
    this.commands.push(cmd);
    for (const path of writes) if (path !== null) this.files.set(path, outputText(cmd) ?? UNKNOWN_CONTENT);
    return cmd;
  }

  /**
   * An unquoted expansion is split into fields (`X="psql -c …"; $X` runs psql); with IFS changed,
   * or a brace expansion, the guard does not know the words.
   */
  private fields(n: TsNode): Word[] {
    const w = this.word(n);
    if (n.type !== 'simple_expansion' && n.type !== 'expansion') {
      if ((n.type === 'word' || n.type === 'concatenation') && /\{[^{}'"]*(,|\.\.)[^{}'"]*\}/.test(n.text) && !/^['"]/.test(n.text)) return [{ value: null, raw: n.text, why: `brace expansion in ${n.text}` }];
      return [w];
    }
    if (w.value === null) return [w];
    if (this.ifsChanged) return [{ value: null, raw: w.raw, why: `${w.raw} is split by a changed IFS` }];
    const parts = w.value.split(/[ \t\n]+/).filter(Boolean);
    if (parts.length === 0) return [];
    return parts.map((p) => ({ value: p, raw: w.raw }));
  }

  /** Builtins that set variables from input: read, mapfile/readarray, printf -v, getopts, let. */
  private noteReads(words: Word[]): void {
    const name = words[0]?.value;
    if (!name) return;
    const vals = words.slice(1).map((w) => w.value ?? '');
    let names: string[] = [];
    if (name === 'read' || name === 'mapfile' || name === 'readarray' || name === 'getopts') names = vals.filter((v) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(v));
    else if (name === 'printf') {
      const i = vals.indexOf('-v');
      if (i >= 0 && vals[i + 1]) names = [vals[i + 1]];
    } else if (name === 'let') names = vals.map((v) => /^([A-Za-z_][A-Za-z0-9_]*)/.exec(v)?.[1] ?? '').filter(Boolean);
    if (name === 'read' || name === 'mapfile' || name === 'readarray') names.push('REPLY', 'MAPFILE');
    for (const v of names) {
      this.unknownVars.add(v);
      delete this.vars[v];
    }
  }

  private redirectInfo(r: TsNode): { stdin?: Stdin; write?: string | null } {
    if (r.type === 'herestring_redirect') {
      const target = r.namedChildren[r.namedChildren.length - 1];
      const v = target ? this.word(target) : { value: null };
      return { stdin: { kind: 'text', text: v.value === null ? UNKNOWN_CONTENT : v.value + '\n', from: 'here-string' } };
    }
    const op = r.children.find((c) => c && !c.isNamed)?.text ?? '';
    const dest = r.childForFieldName('destination') ?? r.namedChildren[r.namedChildren.length - 1];
    const v = dest ? this.word(dest) : { value: null };
    if (op === '<') return { stdin: { kind: 'file', path: v.value } };
    if (op.includes('>') && !op.includes('&')) return { write: v.value };
    return {};
  }

  private substitution(n: TsNode): void {
    // The commands inside $(…), `…` and <(…) run too: analyse them.
    const saved = { ...this.vars };
    for (const c of n.namedChildren) if (c) this.statement(c);
    this.vars = saved;
  }

  word(n: TsNode): Word {
    const raw = n.text;
    switch (n.type) {
      case 'word':
        return { value: unescapeBare(raw), raw };
      case 'number':
      case 'variable_name':
        return { value: raw, raw };
      case 'raw_string':
        return { value: raw.slice(1, -1), raw };
      case 'ansi_c_string':
        return { value: decodeAnsiC(raw.slice(2, -1)), raw };
      case 'string':
      case 'translated_string':
      case 'concatenation': {
        let out = '';
        let why: string | undefined;
        let pos = n.startIndex;
        const inString = n.type !== 'concatenation';
        for (const c of n.namedChildren) {
          if (!c) continue;
          if (inString) out += unescapeDouble(n.text.slice(pos - n.startIndex, c.startIndex - n.startIndex).replace(/^\$?"/, ''));
          const v = c.type === 'string_content' ? { value: unescapeDouble(c.text), raw: c.text } : this.word(c);
          if (v.value === null) why ??= v.why ?? `${c.text} is unknown`;
          out += v.value ?? '';
          pos = c.endIndex;
        }
        if (inString) out += unescapeDouble(n.text.slice(pos - n.startIndex).replace(/"$/, '').replace(/^\$?"/, ''));
        return why ? { value: null, raw, why } : { value: out, raw };
      }
      case 'simple_expansion':
      case 'expansion': {
        const name = n.namedChildren.find((c) => c?.type === 'variable_name' || c?.type === 'special_variable_name')?.text;
        const plain = n.type === 'simple_expansion' || /^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/.test(raw);
        if (name && plain && !this.unknownVars.has(name) && this.vars[name] !== undefined) return { value: this.vars[name]!, raw };
        // ${X:-default} with X unset: the default.
        const def = /^\$\{([A-Za-z_][A-Za-z0-9_]*):?-([^}$`]*)\}$/.exec(raw);
        if (def && this.vars[def[1]] === undefined && !this.unknownVars.has(def[1])) return { value: def[2], raw };
        for (const c of n.namedChildren) if (c && (c.type === 'command_substitution' || c.type === 'process_substitution')) this.substitution(c);
        return { value: null, raw, why: name ? `$${name} is not known to the guard` : `${raw} cannot be expanded` };
      }
      case 'command_substitution':
      case 'process_substitution':
        this.substitution(n);
        return { value: null, raw, why: `the output of ${raw.slice(0, 60)}` };
      case 'arithmetic_expansion':
        // $(( $(cmd) + 1 )): the commands inside run too.
        for (const c of n.descendantsOfType(['command_substitution', 'process_substitution'])) if (c) this.substitution(c);
        return { value: null, raw, why: 'arithmetic expansion' };
      case 'brace_expression':
        return { value: null, raw, why: 'brace expansion' };
      default:
        // Globs and anything else: the text as written (unescaped).
        for (const c of n.namedChildren) if (c && (c.type === 'command_substitution' || c.type === 'process_substitution')) this.substitution(c);
        return { value: unescapeBare(raw), raw };
    }
  }
}

/** Variables that decide where database tools connect (an unknown `export` may set any of them). */
const CONNECTION_VARS = ['DATABASE_URL', 'DIRECT_URL', 'POSTGRES_URL', 'POSTGRES_PRISMA_URL', 'POSTGRES_URL_NON_POOLING', 'SUPABASE_DB_URL', 'DB_URL', 'PG_URL', 'PGURL', 'PGHOST', 'PGHOSTADDR', 'PGPORT', 'PGDATABASE', 'PGSERVICE'];

/** The value of a variable the guard does not know (same marker as an unknown argument). */
export const UNKNOWN_VALUE = '\u0000?';

/** Marks content the guard could not know (written from an unknown source). */
export const UNKNOWN_CONTENT = '\u0000unknown\u0000';

/** What a command prints, when it is plain: echo, printf, cat of a heredoc or a known file. */
export function outputText(cmd: SimpleCommand): string | null {
  let words = cmd.words;
  // `sudo echo …`, `env A=1 echo …`, `time printf …` print the same thing.
  while (words.length > 1 && words[0].value !== null && ['sudo', 'env', 'time', 'nice', 'command', 'builtin'].includes(words[0].value)) {
    words = words.slice(1);
    while (words.length > 1 && words[0].value !== null && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0].value)) words = words.slice(1);
  }
  const [name, ...args] = words;
  if (!name || name.value === null) return null;
  if (args.some((a) => a.value === null)) return null;
  const vals = args.map((a) => a.value!);
  switch (name.value) {
    case 'echo': {
      let i = 0;
      let escapes = false;
      while (i < vals.length && /^-[neE]+$/.test(vals[i])) {
        if (vals[i].includes('e')) escapes = true;
        i++;
      }
      const s = vals.slice(i).join(' ');
      return (escapes ? decodeAnsiC(s) : s) + '\n';
    }
    case 'printf':
      return vals.length ? decodeAnsiC(vals[0]).replace(/%s/g, () => vals.splice(1, 1)[0] ?? '') : '';
    case 'cat':
      if (vals.length === 0 || (vals.length === 1 && vals[0] === '-')) {
        if (cmd.stdin.kind === 'text') return cmd.stdin.text;
        if (cmd.stdin.kind === 'pipe') return pipeText(cmd.stdin.from);
      }
      return null;
    default:
      return null;
  }
}

export function pipeText(from: SimpleCommand[]): string | null {
  const last = from[from.length - 1];
  return last ? outputText(last) : null;
}
