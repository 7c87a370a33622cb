/** The shared option factories (src/cli/options.ts): one flag, one help text, validation by commander. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { choiceOption, durationOption, envOption, intOption, jsonOption, portOption } from '../../src/cli/options.js';
import { UsageError } from '../../src/errors.js';

function parse(build: (c: Command) => Command, argv: string[]): Record<string, unknown> {
  const c = build(new Command('t').exitOverride().configureOutput({ outputError: () => {} }));
  c.parse(argv, { from: 'user' });
  return c.opts();
}

test('choiceOption: the value or a one-line usage error naming the choices', () => {
  const build = (c: Command) => c.addOption(choiceOption('--format <format>', 'f', ['text', 'json', 'sarif'] as const, 'text'));
  assert.deepEqual(parse(build, []), { format: 'text' });
  assert.deepEqual(parse(build, ['--format', 'json']), { format: 'json' });
  assert.throws(() => parse(build, ['--format', 'xml']), (e: Error) => e instanceof UsageError && e.message === '--format must be text, json or sarif, got "xml"');
});

test('intOption and portOption: integers in range only', () => {
  const build = (c: Command) => c.addOption(intOption('-n, --lines <n>', 'n', { min: 1 }, 20)).addOption(portOption('p', true));
  assert.deepEqual(parse(build, []), { lines: 20 });
  assert.deepEqual(parse(build, ['-n', '5', '--port', '0']), { lines: 5, port: 0 });
  for (const [argv, message] of [
    [['-n', '0'], '--lines must be a positive integer, got "0"'],
    [['-n', '2.5'], '--lines must be a positive integer, got "2.5"'],
    [['--port', '65536'], '--port must be an integer 0–65535, got "65536"'],
    [['--port', 'http'], '--port must be an integer 0–65535, got "http"'],
  ] as const) assert.throws(() => parse(build, [...argv]), (e: Error) => e instanceof UsageError && e.message === message, argv.join(' '));
});

test('durationOption: milliseconds, its default shown as written', () => {
  const build = (c: Command) => c.addOption(durationOption('--ttl <duration>', 't', '15min'));
  assert.deepEqual(parse(build, []), { ttl: 900_000 });
  assert.deepEqual(parse(build, ['--ttl', '2h']), { ttl: 7_200_000 });
  assert.throws(() => parse(build, ['--ttl', 'soon']), /--ttl must be a duration like 30min, 24h or 7d, got "soon"/);
  assert.equal(build(new Command('t')).options[0].defaultValueDescription, '15min');
});

test('envOption: required unless asked otherwise; filters and sources are optional', () => {
  assert.equal(envOption('production').mandatory, true);
  assert.equal(envOption('any', { required: false }).mandatory, false);
  assert.equal(envOption('filter').mandatory, false);
  assert.equal(envOption('source').mandatory, false);
  assert.equal(envOption('any', { many: true }).flags, '--env <env...>');
  assert.equal(envOption('staging').description, 'a staging environment');
  assert.equal(jsonOption().flags, '--json');
  const build = (c: Command) => c.addOption(envOption('any'));
  assert.throws(() => parse(build, []), /required option '--env <env>' not specified/);
});
