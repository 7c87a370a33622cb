/** Regenerates the rule and wrapper reference in docs/guard.md. Run: node --import tsx scripts/gen-guard-docs.ts */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withGeneratedRules } from '../src/guard/docs.js';

const doc = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'guard.md');
writeFileSync(doc, withGeneratedRules(readFileSync(doc, 'utf8')));
console.log(`wrote ${doc}`);
