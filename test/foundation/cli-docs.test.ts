/** docs/cli.md's command reference is generated from the commander tree (issue #10): byte-identical. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { REPO } from '../helpers/cli.js';
import { cliReferenceMarkdown, withGeneratedCliReference } from '../../src/cli/docs.js';
import { buildProgram } from '../../src/cli/program.js';

test('docs/cli.md holds exactly the generated command reference (run npm run docs after changing a command)', () => {
  const doc = readFileSync(join(REPO, 'docs/cli.md'), 'utf8');
  assert.equal(doc, withGeneratedCliReference(doc));
});

test('every command and every option of the tree appears in the reference', () => {
  const md = cliReferenceMarkdown();
  const walk = (c: Command, path: string[]): void => {
    for (const s of c.commands) {
      const p = [...path, s.name()];
      assert.match(md, new RegExp('### `' + p.join(' ').replace(/[.*+?^${}()|[\]\\]/g, '\\$&') + '[ `]'), p.join(' '));
      for (const o of s.options) assert.ok(md.includes('`' + o.flags + '`'), `${p.join(' ')} ${o.flags}`);
      walk(s, p);
    }
  };
  walk(buildProgram(), ['prodguard']);
});

test('the reference shows required options, choices and defaults as the parser applies them', () => {
  const program = new Command('x');
  program
    .command('demo')
    .description('a demo | with a pipe')
    .argument('<id>', 'the id')
    .addOption(new Option('--env <env>', 'environment').makeOptionMandatory())
    .addOption(new Option('--format <f>', 'format').choices(['a', 'b']).default('a'))
    .option('--no-wait', 'do not wait');
  const md = cliReferenceMarkdown(program);
  assert.ok(md.includes('### `prodguard demo <id>`'), md);
  assert.ok(md.includes('a demo \\| with a pipe'), md);
  assert.ok(md.includes('- `id`: the id'), md);
  assert.ok(md.includes('| `--env <env>` | environment (required) |'), md);
  assert.ok(md.includes('| `--format <f>` | format (one of `a`, `b`; default `a`) |'), md);
  assert.ok(md.includes('| `--no-wait` | do not wait |'), md);
});
