/**
 * PostgreSQL's own regression SQL (src/test/regress/sql, parallel_schedule, data/) for the
 * installed server major version, taken from Debian's source package of the installed
 * `postgresql-NN`. Not committed: fetched on first use into a cache directory, with apt's own
 * client and a private deb-src list (the machine's apt configuration is not changed).
 *
 *   node --import tsx test/sql/regress/fetch.ts      # fetch now, print the directory
 *
 * Needs root (apt-get) and Debian's package archive; when either is missing, ensureRegressSql()
 * throws with what to do — the oracle test then fails loudly instead of passing on nothing.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pgBin } from '../../../src/pg/binaries.js';

export interface RegressSql {
  major: string;
  /** Directory holding sql/, data/ and parallel_schedule. */
  dir: string;
  /** Where it came from, for the report (`postgresql-15 15.18-0+deb12u1 (Debian source)`). */
  source: string;
}

/** The installed server's major version, from `postgres --version`. */
export function installedMajor(): string {
  const out = execFileSync(pgBin('postgres'), ['--version'], { encoding: 'utf8' });
  const m = /(\d+)(?:\.\d+)?/.exec(out.replace(/^[^\d]*/, ''));
  if (!m) throw new Error(`cannot read the PostgreSQL version from: ${out.trim()}`);
  return m[1];
}

const cacheRoot = () => process.env.PRODGUARD_REGRESS_CACHE ?? '/var/tmp/prodguard-pg-regress';

/** deb-src entries mirroring the machine's deb entries (same archive, suites, keys). */
function debSrcSources(): string {
  const files = ['/etc/apt/sources.list.d/debian.sources', ...(existsSync('/etc/apt/sources.list.d') ? readdirSync('/etc/apt/sources.list.d').filter((f) => f.endsWith('.sources')).map((f) => join('/etc/apt/sources.list.d', f)) : [])];
  const stanzas = new Set<string>();
  for (const f of new Set(files)) {
    if (!existsSync(f)) continue;
    for (const stanza of readFileSync(f, 'utf8').split(/\n\s*\n/)) {
      if (/^Types:.*\bdeb\b/m.test(stanza)) stanzas.add(stanza.replace(/^Types:.*$/m, 'Types: deb-src').replace(/^#.*\n/gm, '').trim());
    }
  }
  if (existsSync('/etc/apt/sources.list')) {
    for (const line of readFileSync('/etc/apt/sources.list', 'utf8').split('\n')) {
      const m = /^deb\s+(\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s+(.+)$/.exec(line.trim());
      if (m) stanzas.add(`Types: deb-src\nURIs: ${m[2]}\nSuites: ${m[3]}\nComponents: ${m[4]}`);
    }
  }
  if (stanzas.size === 0) throw new Error('no Debian package sources configured in /etc/apt; cannot fetch the regression SQL');
  return [...stanzas].join('\n\n') + '\n';
}

function installedPackageVersion(pkg: string): string | undefined {
  try {
    return execFileSync('dpkg-query', ['-W', '-f=${Version}', pkg], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Returns the regression SQL of the installed major, fetching it when it is not cached yet. Throws with the reason. */
export function ensureRegressSql(): RegressSql {
  const major = installedMajor();
  const dir = join(cacheRoot(), major);
  const marker = join(dir, 'SOURCE');
  if (existsSync(marker) && existsSync(join(dir, 'sql', 'test_setup.sql'))) return { major, dir, source: readFileSync(marker, 'utf8').trim() };

  const pkg = `postgresql-${major}`;
  if (process.getuid?.() !== 0) throw new Error(`PostgreSQL ${major}'s regression SQL is not in ${dir} and fetching it needs root (apt-get source ${pkg}); run: sudo node --import tsx test/sql/regress/fetch.ts`);
  for (const tool of ['apt-get', 'tar', 'dpkg-query']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      throw new Error(`fetching PostgreSQL's regression SQL needs ${tool} (a Debian system)`);
    }
  }
  const work = mkdtempSync(join(tmpdir(), 'prodguard-regress-'));
  try {
    writeFileSync(join(work, 'src.sources'), debSrcSources());
    mkdirSync(join(work, 'lists', 'partial'), { recursive: true });
    mkdirSync(join(work, 'dl'));
    mkdirSync(join(work, 'cache', 'archives', 'partial'), { recursive: true });
    // Private lists and cache: the machine's own package lists and caches are neither read nor rewritten.
    const apt = ['-o', `Dir::Etc::SourceList=${join(work, 'src.sources')}`, '-o', 'Dir::Etc::SourceParts=/nonexistent', '-o', `Dir::State::Lists=${join(work, 'lists')}`, '-o', `Dir::Cache=${join(work, 'cache')}`, '-o', 'APT::Sandbox::User=root', '-qq'];
    execFileSync('apt-get', [...apt, 'update'], { stdio: ['ignore', 'ignore', 'pipe'] });
    const version = installedPackageVersion(pkg);
    // The installed version's source first, then every other version of the same major the
    // archives list (a security update may be installed while only the main archive is reachable).
    let listed: string[] = [];
    try {
      listed = [...execFileSync('apt-cache', [...apt, 'showsrc', pkg], { encoding: 'utf8' }).matchAll(/^Version: (\S+)$/gm)].map((m) => m[1]);
    } catch {
      // No source records: only the bare name is tried below, and its error is reported.
    }
    const wanted = [...new Set([...(version ? [version] : []), ...listed])].map((v) => `${pkg}=${v}`);
    if (wanted.length === 0) wanted.push(pkg);
    let fetched: string | undefined;
    const errors: string[] = [];
    for (const w of wanted) {
      try {
        execFileSync('apt-get', [...apt, 'source', '--download-only', w], { cwd: join(work, 'dl'), stdio: ['ignore', 'ignore', 'pipe'] });
        fetched = w;
        break;
      } catch (e) {
        errors.push(`${w}: ${String((e as { stderr?: Buffer }).stderr ?? e).trim().split('\n').pop()}`);
        for (const f of readdirSync(join(work, 'dl'))) rmSync(join(work, 'dl', f), { force: true });
      }
    }
    if (!fetched) throw new Error(`apt-get source ${pkg} failed: ${errors.join('; ')}`);
    const orig = readdirSync(join(work, 'dl')).find((f) => /\.orig\.tar\.(bz2|gz|xz)$/.test(f));
    if (!orig) throw new Error(`apt-get source ${fetched} gave no .orig tarball`);
    execFileSync('tar', ['-xf', join(work, 'dl', orig), '-C', work, '--wildcards', '*/src/test/regress/sql/*', '*/src/test/regress/data/*', '*/src/test/regress/parallel_schedule'], { stdio: ['ignore', 'ignore', 'pipe'] });
    const top = readdirSync(work).find((d) => existsSync(join(work, d, 'src', 'test', 'regress', 'sql')));
    if (!top) throw new Error(`${orig} holds no src/test/regress/sql`);
    mkdirSync(cacheRoot(), { recursive: true });
    rmSync(dir, { recursive: true, force: true });
    renameSync(join(work, top, 'src', 'test', 'regress'), dir);
    // The server (another OS user) reads data/ through COPY FROM 'file'.
    execFileSync('chmod', ['-R', 'a+rX', dir]);
    const source = `${fetched} (Debian source package ${orig})`;
    writeFileSync(marker, source + '\n');
    return { major, dir, source };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const r = ensureRegressSql();
  console.log(`${r.dir}\t${r.source}`);
}
