import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { parseShell } from '../../src/guard/shell.js';
import { unwrap, type Unwrapped } from '../../src/guard/unwrap.js';
import { wrappers } from '../../src/guard/wrappers/index.js';
import { makeRecipe } from '../../src/guard/make.js';
import type { GuardScope } from '../../src/guard/target.js';
import { fixtureEnv } from './env.js';

const here = dirname(fileURLToPath(import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'prodguard-wrappers-'));
cpSync(join(here, 'fixture'), dir, { recursive: true });
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

const read = (p: string, s: GuardScope): string | null => {
  if (s.remote) return null;
  try {
    return readFileSync(p.startsWith('/') ? p : join(s.cwd, p), 'utf8');
  } catch {
    return null;
  }
};
const deps = {
  readFile: read,
  scripts: (s: GuardScope) => (JSON.parse(read('package.json', s) ?? '{}') as { scripts?: Record<string, string> }).scripts ?? null,
  makeRecipe: (s: GuardScope, t: string | null, f?: string) => {
    const text = read(f ?? 'Makefile', s);
    return text === null ? null : makeRecipe(text, t, s.env);
  },
};

function describe(u: Unwrapped | undefined): string {
  if (!u) return 'nothing';
  switch (u.kind) {
    case 'tool':
      return ['tool', u.tool, ...u.args].join(' ');
    case 'script':
      return `script ${u.label}`;
    default:
      return u.kind;
  }
}

/** What the last simple command of a line unwraps to. */
async function yields(command: string): Promise<string> {
  const parsed = await parseShell(command, { ...fixtureEnv });
  const scope: GuardScope = { cwd: dir, env: fixtureEnv, loaded: null, files: parsed.files };
  const last = parsed.commands[parsed.commands.length - 1];
  return describe(unwrap(last, scope, parsed.files, deps)[0]);
}

for (const w of wrappers) {
  test(`wrapper family ${w.family}: every example unwraps as documented`, async () => {
    assert.ok(w.examples.length > 0, `${w.family} has no examples`);
    for (const ex of w.examples) assert.equal(await yields(ex.command), ex.yields, ex.command);
  });
}

test('no program name is claimed by two wrapper families', () => {
  const seen = new Map<string, string>();
  for (const w of wrappers) for (const n of w.names) {
    assert.ok(!seen.has(n), `${n} is in ${seen.get(n)} and ${w.family}`);
    seen.set(n, w.family);
  }
});
