import { resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { globalOpts } from './common.js';
import { emit } from './output.js';
import { RefusedError, UsageError } from '../errors.js';
import { jsonOption } from './options.js';

export function registerConfig(program: Command): void {
  const config = program.command('config').description('validate prodguard.yaml and print its JSON Schema');

  config
    .command('check')
    .description('report every problem in prodguard.yaml with its line number')
    .addOption(jsonOption())
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { checkConfigText, findConfigFile } = await import('../config/load.js');
      const given = globalOpts(cmd).config;
      const file = given ? resolve(given) : findConfigFile();
      if (!file) throw new UsageError('no prodguard.yaml found in this directory or its parents; run `prodguard init` first', 'config.missing');
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (err) {
        throw new UsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code}`, 'config.unreadable');
      }
      const { config: parsed, problems } = checkConfigText(text);
      const warnings = parsed ? (await import('../config/warnings.js')).configWarnings(parsed, process.env) : [];
      emit(opts, { file, ok: problems.length === 0, problems, warnings }, () =>
        problems.length
          ? problems.map((p) => `${file}:${p.line}:${p.column}: ${p.path ? p.path + ': ' : ''}${p.message}`).join('\n')
          : [`${file}: ok`, ...warnings.map((w) => `warning: ${w}`)].join('\n'),
      );
      if (problems.length) throw new UsageError(`${problems.length} problem(s) in ${file}`, 'config.invalid');
    });

  config
    .command('schema')
    .description('print the JSON Schema of prodguard.yaml (for editors and CI validation)')
    .action(async () => {
      const { configJsonSchema } = await import('../config/schema.js');
      process.stdout.write(JSON.stringify({ $schema: 'https://json-schema.org/draft/2020-12/schema', title: 'prodguard.yaml', ...configJsonSchema() }, null, 2) + '\n');
    });

  config
    .command('resolve')
    .description('say which configured environment a name, connection string, PG* variables or Supabase ref points at')
    .argument('[target]', 'environment name or connection string (default: PG* variables / DATABASE_URL)')
    .option('--supabase-ref <ref>', 'a Supabase project ref')
    .addOption(jsonOption())
    .action(async (target: string | undefined, opts: { supabaseRef?: string; json?: boolean }, cmd: Command) => {
      const { loadConfig } = await import('../config/load.js');
      const { resolveEnvironment } = await import('../config/resolve-environment.js');
      const { isConnectionUri, isKeyValueConnInfo } = await import('../pg/conninfo.js');
      const loaded = loadConfig({ file: globalOpts(cmd).config });
      const hint = opts.supabaseRef
        ? { supabaseRef: opts.supabaseRef }
        : target && (isConnectionUri(target) || isKeyValueConnInfo(target))
          ? { url: target }
          : target
            ? { environment: target }
            : process.env.DATABASE_URL
              ? { url: process.env.DATABASE_URL }
              : { pgEnv: process.env };
      if ('environment' in hint && !loaded.config.environments[hint.environment!]) {
        throw new UsageError(`unknown environment "${hint.environment}"; configured: ${Object.keys(loaded.config.environments).join(', ')}`, 'env.unknown');
      }
      const r = resolveEnvironment(loaded, hint);
      emit(opts, r, () => `${r.name ?? 'unknown'} (${r.kind}) — ${r.via}`);
      if (!r.name) throw new RefusedError(`target is not a configured environment: ${r.via}`, 'env.unknown');
    });
}
