/** Regenerates the command reference in docs/cli.md from the commander tree. Run: node --import tsx scripts/gen-cli-docs.ts */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withGeneratedCliReference } from '../src/cli/docs.js';

const doc = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'cli.md');
writeFileSync(doc, withGeneratedCliReference(readFileSync(doc, 'utf8')));
console.log(`wrote ${doc}`);
