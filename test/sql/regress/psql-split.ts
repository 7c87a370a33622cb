/**
 * Splits a psql script (a regression test file) into statements the way psql sends them:
 * semicolons outside quotes, dollar quotes, comments and parentheses end a statement;
 * backslash meta-commands are taken out (`\set` defines variables, `\c` starts a new session,
 * `\g…` ends a statement); `:var`, `:'var'` and `:"var"` are substituted; the inline data of
 * `COPY … FROM stdin` (up to `\.`) is skipped. Files with deliberate syntax errors are fine:
 * nothing here parses SQL beyond its lexical structure.
 */

export interface ScriptStatement {
  sql: string;
  /** 1-based line where the statement starts. */
  line: number;
  /** True when psql would run the result through \gexec (not a plain statement: skipped). */
  gexec?: boolean;
  /** A `\c`/`\connect` came before this statement: a new session starts here. */
  newSession?: boolean;
  /** COPY … FROM STDIN / TO STDOUT: runs through psql's copy protocol, skipped here. */
  copyStdio?: boolean;
}

const quoteLiteral = (s: string) => `'${s.replace(/'/g, "''")}'`;
const quoteIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;

export function splitPsqlScript(text: string, vars: Record<string, string>): ScriptStatement[] {
  const out: ScriptStatement[] = [];
  const v: Record<string, string> = { ...vars };
  let buf = '';
  let startLine = 1;
  let line = 1;
  let depth = 0;
  let pendingSession = false;
  let i = 0;
  const n = text.length;

  const flush = (extra: Partial<ScriptStatement> = {}) => {
    const sql = buf.trim();
    if (sql) {
      const copyStdio = /^\s*copy\b[\s\S]*\b(from\s+stdin|to\s+stdout)\b/i.test(sql);
      out.push({ sql, line: startLine, ...(pendingSession ? { newSession: true } : {}), ...(copyStdio ? { copyStdio } : {}), ...extra });
      pendingSession = false;
      if (/^\s*copy\b[\s\S]*\bfrom\s+stdin\b/i.test(sql)) {
        // Skip the inline data up to a line holding only "\." .
        const end = text.indexOf('\n\\.', i - 1);
        const stop = end < 0 ? n : text.indexOf('\n', end + 1) < 0 ? n : text.indexOf('\n', end + 1) + 1;
        for (let k = i; k < stop; k++) if (text[k] === '\n') line++;
        i = stop;
      }
    }
    buf = '';
    depth = 0;
  };

  while (i < n) {
    const c = text[i];
    if (buf.trim() === '') startLine = line;
    if (c === '\n') {
      line++;
      buf += c;
      i++;
    } else if (c === '-' && text[i + 1] === '-') {
      while (i < n && text[i] !== '\n') i++;
    } else if (c === '/' && text[i + 1] === '*') {
      let d = 1;
      buf += '/*';
      i += 2;
      while (i < n && d > 0) {
        if (text[i] === '/' && text[i + 1] === '*') (d++, (buf += '/*'), (i += 2));
        else if (text[i] === '*' && text[i + 1] === '/') (d--, (buf += '*/'), (i += 2));
        else {
          if (text[i] === '\n') line++;
          buf += text[i++];
        }
      }
    } else if (c === "'" || c === '"') {
      // E'…' strings treat backslash as an escape; standard strings and identifiers do not.
      const escapes = c === "'" && /[eE]$/.test(buf) && !/[A-Za-z0-9_][eE]$/.test(buf);
      buf += c;
      i++;
      while (i < n) {
        const d = text[i];
        if (d === '\n') line++;
        if (escapes && d === '\\') {
          buf += d + (text[i + 1] ?? '');
          i += 2;
          continue;
        }
        buf += d;
        i++;
        if (d === c) {
          if (text[i] === c) {
            buf += text[i++];
            continue;
          }
          break;
        }
      }
    } else if (c === '$' && !/[A-Za-z0-9_]$/.test(buf)) {
      const m = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(text.slice(i, i + 64));
      if (!m) {
        buf += c;
        i++;
        continue;
      }
      const tag = m[0];
      const end = text.indexOf(tag, i + tag.length);
      const stop = end < 0 ? n : end + tag.length;
      const body = text.slice(i, stop);
      line += body.split('\n').length - 1;
      buf += body;
      i = stop;
    } else if (c === ':' && text[i + 1] !== ':' && !buf.endsWith(':')) {
      // psql variable interpolation: :name, :'name', :"name" (only when the variable is set).
      const m = /^:(?:'([A-Za-z_][A-Za-z0-9_]*)'|"([A-Za-z_][A-Za-z0-9_]*)"|([A-Za-z_][A-Za-z0-9_]*))/.exec(text.slice(i, i + 80));
      const name = m?.[1] ?? m?.[2] ?? m?.[3];
      if (m && name !== undefined && v[name] !== undefined) {
        buf += m[1] !== undefined ? quoteLiteral(v[name]) : m[2] !== undefined ? quoteIdent(v[name]) : v[name];
        i += m[0].length;
      } else {
        buf += c;
        i++;
      }
    } else if (c === '(') {
      depth++;
      buf += c;
      i++;
    } else if (c === ')') {
      depth = Math.max(0, depth - 1);
      buf += c;
      i++;
    } else if (c === ';' && depth === 0) {
      i++;
      flush();
    } else if (c === '\\') {
      // A meta-command runs to the end of the line (or the next backslash command on it).
      let end = text.indexOf('\n', i);
      if (end < 0) end = n;
      const cmd = text.slice(i, end);
      i = end;
      const word = /^\\([A-Za-z!?.]*)/.exec(cmd)?.[1] ?? '';
      if (word === 'set') {
        const m = /^\\set\s+([A-Za-z_][A-Za-z0-9_]*)\s*(.*)$/.exec(cmd.trim());
        if (m) v[m[1]] = unquotePsqlArgs(m[2], v);
      } else if (word === 'c' || word === 'connect') {
        flush();
        pendingSession = true;
      } else if (word === 'gexec') flush({ gexec: true });
      else if (word.startsWith('g')) flush();
    } else {
      buf += c;
      i++;
    }
  }
  flush();
  return out;
}

/** `\set` arguments: concatenated words, 'quoted' parts and :'var' / :var references. */
function unquotePsqlArgs(args: string, v: Record<string, string>): string {
  let out = '';
  const re = /'((?:[^']|'')*)'|:'([A-Za-z_][A-Za-z0-9_]*)'|:([A-Za-z_][A-Za-z0-9_]*)|(\S+)|\s+/g;
  for (const m of args.matchAll(re)) {
    if (m[1] !== undefined) out += m[1].replace(/''/g, "'");
    else if (m[2] !== undefined) out += v[m[2]] ?? '';
    else if (m[3] !== undefined) out += v[m[3]] ?? '';
    else if (m[4] !== undefined) out += m[4];
  }
  return out;
}
