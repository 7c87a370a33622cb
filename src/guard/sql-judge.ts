/** SQL inside commands (psql -c/-f/stdin, db execute, dbshell) judged by the SQL layer. */
import type { Finding } from './rules/types.js';
import { unknownTarget, type Target } from './target.js';
import { UNKNOWN_CONTENT } from './shell.js';
import { errorMessage } from '../errors.js';

const META_READ = /^\\(d\S*|l\+?|list|conninfo|x|timing|echo|qecho|pset|a|t|H|encoding|q|quit|\?|h|help|set|unset|sf\S*|sv\S*|z|dp|du|dn|dt\S*|dx|copyright|prompt|if|elif|else|endif|c|connect|g|gx|gdesc|p|r|w|o|cd|setenv|errverbose|watch|gset|crosstabview|gdesc|echo|warn|qecho)\b/;

export async function judgeSql(text: string | null, target: Target, source: string): Promise<Finding | null> {
  if (text === null || text.includes(UNKNOWN_CONTENT) || text.includes('\u0000')) {
    return { risk: 'opaque', effect: `runs SQL the guard cannot see (${source}) against`, target, alternative: 'Pass the SQL literally so it can be checked, or run it on staging.' };
  }
  // psql meta-commands are not SQL: keep the read-only ones, refuse the rest.
  const lines: string[] = [];
  let changes: string | null = null;
  for (const raw of text.split('\n')) {
    // A meta-command can follow SQL on the same line (`select 1 \g |sh`).
    const at = raw.search(/(^|\s)\\[a-zA-Z!]/);
    const line = at > 0 ? raw.slice(0, at) : at === 0 ? '' : raw;
    if (line.trim()) lines.push(line);
    if (at < 0) continue;
    for (const meta of raw.slice(at).trim().split(/\s(?=\\[a-zA-Z!])/)) {
      const t = meta.trim();
      const name = t.split(/\s/)[0];
      const arg = t.slice(name.length).trim();
      if (/^\\(i|ir|include|include_relative|!|gexec|lo_unlink|lo_import|setenv|cd)$/.test(name)) {
        return { risk: 'opaque', effect: `runs the psql meta-command ${name} (not checkable) against`, target, alternative: 'Run plain SQL the guard can check.' };
      }
      // Output to a pipe runs a shell command; \w and \o to a file write files.
      if (/^\\(o|out|g|gx|w|write)$/.test(name) && arg) {
        if (arg.startsWith('|')) return { risk: 'opaque', effect: `pipes output to a shell command (${name} ${arg.slice(0, 40)}) against`, target, alternative: 'Write the output to a file and process it outside psql.' };
        if (/^\\(w|write)$/.test(name)) return { risk: 'opaque', effect: `writes the query buffer to ${arg} (${name}) against`, target };
        continue;
      }
      // \c with a host or connection string switches to a database this check did not resolve.
      if (/^\\(c|connect)$/.test(name) && arg && (/[=/:@]/.test(arg) || arg.split(/\s+/).length > 2)) {
        return { risk: 'opaque', effect: `switches the session to another server (${name} ${arg.replace(/:[^:@/]*@/, ':****@').slice(0, 60)}) from`, target: unknownTarget(`${name} to a server the guard did not resolve`), alternative: 'Connect to that database directly so it can be checked.' };
      }
      if (/^\\copy$/.test(name)) {
        const q = /^\(([\s\S]*)\)\s+to\b([\s\S]*)$/i.exec(arg);
        const tail = q ? q[2] : arg;
        if (/\bprogram\b/i.test(tail)) return { risk: 'opaque', effect: 'runs a shell command through \\copy … program against', target };
        if (q) lines.push(q[1] + ';');
        else if (/\bfrom\b/i.test(arg) && !/\bto\b/i.test(arg)) changes = `\\copy ${arg.split(/\s+/)[0]} from … (loads rows)`;
        continue;
      }
      if (!META_READ.test(t)) return { risk: 'opaque', effect: `runs the psql meta-command ${name} against`, target };
    }
  }
  const sql = lines.join('\n');
  if (changes && !sql.trim()) return { risk: 'change', effect: `changes the database (${changes}) on`, target, alternative: 'Changes go through `prodguard migrate` (staging first, two approvals).' };
  if (!sql.trim()) return { risk: 'read', effect: 'runs read-only psql meta-commands on', target };
  const { classify, worstClass, SqlSyntaxError } = await import('../sql/index.js');
  let stmts;
  try {
    stmts = await classify(sql);
  } catch (err) {
    if (err instanceof SqlSyntaxError) return { risk: 'opaque', effect: `runs SQL that does not parse (${errorMessage(err).split('\n')[0]}) against`, target, alternative: 'Fix the SQL; unparseable SQL is refused against non-local targets.' };
    throw err;
  }
  const worst = worstClass(stmts);
  const s = stmts.find((x) => x.class === worst);
  const what = s ? `${s.kind.replace(/Stmt$/, '').toUpperCase()}${s.objects.length ? ' ' + s.objects.slice(0, 2).join(', ') : ''}` : 'SQL';
  switch (worst) {
    case 'destructive':
      return { risk: 'destructive', effect: `runs destructive SQL (${what}: ${s?.reason ?? ''}) on`, target, alternative: 'Write a migration and ship it with `prodguard migrate` (staging first, approvals, backup).' };
    case 'ddl':
    case 'privilege':
    case 'write':
      return { risk: 'change', effect: `changes the database (${worst}: ${what}) on`, target, alternative: 'Changes go through `prodguard migrate` (staging first, two approvals); read-only queries are allowed.' };
    default:
      if (changes) return { risk: 'change', effect: `changes the database (${changes}) on`, target };
      return { risk: 'read', effect: `runs read-only SQL (${stmts.length} statement${stmts.length === 1 ? '' : 's'}) on`, target };
  }
}
