/**
 * The SQL corpus for the oracle test and the benchmark: real statements from PostgreSQL's own
 * files installed on the machine — the documentation's examples (Debian package
 * postgresql-doc, installed by .ci/run), the tutorial scripts, the server's catalog and
 * extension scripts — plus the hand-written tricky statements in fixtures/tricky.sql.
 * Nothing is downloaded: every file comes from an installed package or from this repo.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSync } from 'libpg-query';
import { loadSqlParser, parseStatements } from '../../src/sql/parser.js';

export interface CorpusStatement {
  sql: string;
  source: string;
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'", nbsp: ' ' };
const decode = (s: string) =>
  s.replace(/&(#x?[0-9a-f]+|[a-z]+);/gi, (m, e: string) =>
    e[0] === '#' ? String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : Number(e.slice(1))) : (ENTITIES[e] ?? m),
  );

function globDirs(base: string, pattern: RegExp): string[] {
  if (!existsSync(base)) return [];
  return readdirSync(base).filter((d) => pattern.test(d)).sort().map((d) => join(base, d));
}

/** Statements of one text if it parses as a whole; [] otherwise (doc blocks with output or prompts). */
function statementsOf(text: string, source: string): CorpusStatement[] {
  try {
    parseSync(text);
  } catch {
    return [];
  }
  return parseStatements(text).filter((s) => s.text.trim() !== '').map((s) => ({ sql: s.text, source }));
}

/** Sources that exist on this machine, for the report. */
export function corpusSources(): { docs: string[]; share: string[] } {
  return {
    docs: globDirs('/usr/share/doc', /^postgresql-doc-\d+$/).map((d) => join(d, 'html')).filter(existsSync),
    share: globDirs('/usr/share/postgresql', /^\d+$/),
  };
}

export async function loadCorpus(): Promise<CorpusStatement[]> {
  await loadSqlParser();
  const out: CorpusStatement[] = [];
  const { docs, share } = corpusSources();
  for (const html of docs) {
    for (const f of readdirSync(html).filter((x) => x.endsWith('.html')).sort()) {
      const page = readFileSync(join(html, f), 'utf8');
      for (const m of page.matchAll(/<pre class="programlisting">([\s\S]*?)<\/pre>/g)) {
        out.push(...statementsOf(decode(m[1].replace(/<[^>]+>/g, '')), `doc:${f}`));
      }
    }
    const tutorial = join(html, '..', 'tutorial');
    if (existsSync(tutorial)) {
      for (const f of readdirSync(tutorial).filter((x) => x.endsWith('.source')).sort()) {
        const text = readFileSync(join(tutorial, f), 'utf8').split('\n').filter((l) => !l.trimStart().startsWith('\\')).join('\n');
        out.push(...statementsOf(text, `tutorial:${f}`));
      }
    }
  }
  for (const dir of share) {
    const files = [...readdirSync(dir).filter((f) => f.endsWith('.sql')).map((f) => join(dir, f)), ...globDirs(join(dir, 'extension'), /\.sql$/)];
    for (const file of files) {
      // psql meta-commands (\echo, \quit) are not SQL; drop those lines.
      const text = readFileSync(file, 'utf8').split('\n').filter((l) => !l.trimStart().startsWith('\\')).join('\n');
      out.push(...statementsOf(text, `share:${file.slice(dir.length + 1)}`));
    }
  }
  const tricky = readFileSync(join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, 'fixtures', 'tricky.sql'), 'utf8');
  out.push(...statementsOf(tricky, 'tricky.sql'));
  return out;
}
