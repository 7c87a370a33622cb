import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decide } from '/work/wt/i13/src/guard/decide.js';
import { fixtureEnv } from '/work/wt/i13/test/guard/env.js';
const dir = mkdtempSync(join(tmpdir(), 'pgc-'));
cpSync('/work/wt/i13/test/guard/fixture', dir, { recursive: true });
const file = process.argv[2];
const want = process.argv[3];
let cat = '';
for (const l of readFileSync(file, 'utf8').split('\n')) {
  if (l.startsWith('## ')) { cat = l.slice(3); continue; }
  if (!l.trim() || l.startsWith('#')) continue;
  const c = l.replace(/↵/g, '\n');
  const d = await decide({ command: c, cwd: dir, env: fixtureEnv });
  const ok = want === 'stop' ? d.decision !== 'allow' : d.decision === 'allow';
  if (!ok) console.log(`[${cat}] ${l}\n     → ${d.decision}: ${d.reason.slice(0, 200)}`);
}
