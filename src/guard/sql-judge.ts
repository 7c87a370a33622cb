/** SQL inside commands (psql -c/-f/stdin, db execute, dbshell) judged by the SQL layer. */
import type { Finding } from './rules/types.js';
import type { Target } from './target.js';
import { UNKNOWN_CONTENT } from './shell.js';

const META_READ = /^\\(d\S*|l\+?|list|conninfo|x|timing|echo|qecho|pset|a|t|H|encoding|q|quit|\?|h|help|set|unset|sf\S*|sv\S*|z|dp|du|dn|dt\S*|dx|copyright|prompt|if|elif|else|endif|c|connect|g|gx|gdesc|p|r|w|o|cd|setenv|errverbose|watch)\b/;

export async function judgeSql(text: string | null, target: Target, source: string): Promise<Finding | null> {
  if (text === null || text.includes(UNKNOWN_CONTENT) || text.includes('\u0000')) {
    return { risk: 'opaque', effect: `runs SQL the guard cannot see (${source}) against`, target, alternative: 'Pass the SQL literally so it can be checked, or run it on staging.' };
  }
  // psql meta-commands are not SQL: keep the read-only ones, refuse the rest.
  const lines: string[] = [];
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t.startsWith('\\')) {
      lines.push(line);
      continue;
    }
    if (/^\\(i|ir|include|include_relative|!|gexec|copy|lo_unlink|lo_import)\b/.test(t)) {
      if (/^\\copy\b/.test(t) && /\bto\b/i.test(t) && !/\bfrom\b/i.test(t)) continue;
      return { risk: 'opaque', effect: `runs the psql meta-command ${t.split(/\s/)[0]} (not checkable) against`, target, alternative: 'Run plain SQL the guard can check.' };
    }
    if (!META_READ.test(t)) return { risk: 'opaque', effect: `runs the psql meta-command ${t.split(/\s/)[0]} against`, target };
  }
  const sql = lines.join('\n');
  if (!sql.trim()) return { risk: 'read', effect: 'runs read-only psql meta-commands on', target };
  const { classify, worstClass, SqlSyntaxError } = await import('../sql/index.js');
  let stmts;
  try {
    stmts = await classify(sql);
  } catch (err) {
    if (err instanceof SqlSyntaxError) return { risk: 'opaque', effect: `runs SQL that does not parse (${(err as Error).message.split('\n')[0]}) against`, target, alternative: 'Fix the SQL; unparseable SQL is refused against non-local targets.' };
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
      return { risk: 'read', effect: `runs read-only SQL (${stmts.length} statement${stmts.length === 1 ? '' : 's'}) on`, target };
  }
}
