/**
 * Cases written by a red-team helper who saw only the docs and the CLI (not the source), against
 * their own fixture project (test/guard/redteam-fixture, described in its FIXTURE.md). Imported
 * with scripts/import-redteam.mjs; kept apart so their count is reported separately.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decide } from '../../src/guard/decide.js';
import { agentHook } from '../../src/guard/hook.js';

const here = dirname(fileURLToPath(import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'prodguard-redteam-'));
cpSync(join(here, 'redteam-fixture'), dir, { recursive: true });
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

/** fixture.env, evaluated the way `. ./fixture.env` would (plain exports, one "$VAR" reference). */
function fixtureEnv(): Record<string, string> {
  const env: Record<string, string> = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: '/nonexistent-home' };
  for (const line of readFileSync(join(dir, 'fixture.env'), 'utf8').split('\n')) {
    const m = /^export ([A-Z_]+)=(?:'([^']*)'|"([^"]*)")$/.exec(line.trim());
    if (m) env[m[1]] = m[2] ?? m[3].replace(/\$([A-Z_]+)/g, (_, k: string) => env[k] ?? '');
  }
  return env;
}

interface Case {
  id: string;
  category: string;
  input: { kind: 'shell'; command: string } | { kind: 'hook'; payload: Record<string, unknown> };
  env: Record<string, string>;
  expect: 'deny' | 'allow';
  why: string;
}

/**
 * Cases where the guard deliberately decides otherwise, with the reason; they are still checked
 * (the guard must keep deciding as stated here) and reported separately.
 */
const DISPUTED: Record<string, { decides: string; reason: string }> = {
  'rt-benign-sql-19': { decides: 'deny', reason: 'SELECT … FOR UPDATE takes row locks; the SQL layer (src/sql, issue #14) classifies it as a write, so production refuses it (conservative)' },
  'rt-benign-sql-26': { decides: 'deny', reason: 'LISTEN is not classified as read-only by the SQL layer (src/sql, issue #14); refused on production (conservative)' },
  'rt-orm-env-32': { decides: 'deny', reason: '`L=--linked supabase db reset $L`: bash expands $L from the shell, where L may be set (the hook does not see the agent shell\'s variables); an unknown word in a supabase subcommand is refused (conservative by design)' },
};

const cases: Case[] = readFileSync(join(here, 'corpus', 'redteam.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Case);
const base = fixtureEnv();

async function observe(c: Case): Promise<string> {
  const env = { ...base, ...c.env };
  if (c.input.kind === 'shell') return (await decide({ command: c.input.command, cwd: dir, env })).decision;
  const payload = { session_id: 'rt', transcript_path: '/tmp/rt.jsonl', permission_mode: 'default', tool_use_id: 'toolu_rt', ...c.input.payload, cwd: c.input.payload.cwd === 'fixture' || c.input.payload.cwd === undefined ? dir : String(c.input.payload.cwd).replace('/work/redteam/guard/fixture', dir) };
  const r = await agentHook('claude-code', JSON.stringify(payload), env);
  if (!r.stdout) return 'allow';
  return (JSON.parse(r.stdout) as { hookSpecificOutput: { permissionDecision: string } }).hookSpecificOutput.permissionDecision;
}

test('red-team cases (written by someone who did not see the source) decide as expected', async () => {
  const wrong: string[] = [];
  const byCat = new Map<string, { ok: number; all: number }>();
  for (const c of cases) {
    const got = await observe(c);
    const disputed = DISPUTED[c.id];
    if (disputed) {
      assert.equal(got, disputed.decides, `${c.id}: ${disputed.reason}`);
      console.log(`  disputed ${c.id} (expects ${c.expect}, guard ${got}): ${disputed.reason}`);
      continue;
    }
    const ok = c.expect === 'deny' ? got !== 'allow' : got === 'allow';
    const s = byCat.get(c.category) ?? { ok: 0, all: 0 };
    s.all++;
    if (ok) s.ok++;
    byCat.set(c.category, s);
    if (!ok) wrong.push(`${c.id} expected ${c.expect}, got ${got}: ${c.input.kind === 'shell' ? c.input.command : JSON.stringify(c.input.payload).slice(0, 160)} (${c.why})`);
  }
  const deny = cases.filter((c) => c.expect === 'deny').length;
  const counted = cases.length - Object.keys(DISPUTED).filter((id) => cases.some((c) => c.id === id)).length;
  console.log(`red-team: ${counted - wrong.length}/${counted} as expected (${deny} dangerous, ${cases.length - deny} benign; ${cases.length - counted} disputed, listed above)`);
  for (const [cat, s] of byCat) console.log(`  ${cat}: ${s.ok}/${s.all}`);
  assert.ok(cases.length >= 100, `only ${cases.length} red-team cases`);
  assert.deepEqual(wrong, []);
});
