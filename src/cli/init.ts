import type { Command } from 'commander';
import { collect } from './common.js';
import { emit, note } from './output.js';
import { UsageError } from '../errors.js';

interface InitFlags {
  yes?: boolean;
  force?: boolean;
  json?: boolean;
  dir?: string;
  name?: string;
  productionUrlEnv?: string;
  stagingUrlEnv?: string;
  localUrlEnv?: string;
  productionRef?: string;
  stagingRef?: string;
  senior: string[];
  s3Bucket?: string;
}

const VAR = /^[A-Za-z_][A-Za-z0-9_]*$/;
const REF = /^[a-z0-9]{6,40}$/;

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('detect the project layout (Supabase or plain migrations/) and write prodguard.yaml')
    .option('-y, --yes', 'non-interactive: accept defaults and the flags given')
    .option('--force', 'overwrite an existing prodguard.yaml')
    .option('--dir <dir>', 'project directory', '.')
    .option('--name <name>', 'project name')
    .option('--production-url-env <NAME>', 'variable holding the production URL', 'PRODUCTION_DATABASE_URL')
    .option('--staging-url-env <NAME>', 'variable holding the staging URL', 'STAGING_DATABASE_URL')
    .option('--local-url-env <NAME>', 'variable holding the local URL', 'LOCAL_DATABASE_URL')
    .option('--production-ref <REF>', 'Supabase project ref of production (default: the linked project)')
    .option('--staging-ref <REF>', 'Supabase project ref of staging')
    .option('--senior <name>', 'a senior team member (repeatable)', collect, [])
    .option('--s3-bucket <bucket>', 'bucket of the second (S3-compatible) backup destination', 'CHANGE-ME-backups')
    .option('--json', 'output JSON')
    .action(async (flags: InitFlags) => {
      const { existsSync, writeFileSync } = await import('node:fs');
      const { resolve, join, basename } = await import('node:path');
      const { detectLayout } = await import('../init/detect.js');
      const { buildConfigText } = await import('../init/build-config.js');
      const { configJsonSchema } = await import('../config/schema.js');
      const dir = resolve(flags.dir ?? '.');
      if (!existsSync(dir)) throw new UsageError(`directory ${dir} does not exist`);
      const file = join(dir, 'prodguard.yaml');
      if (existsSync(file) && !flags.force) throw new UsageError(`${file} already exists; use --force to overwrite it`, 'init.exists');
      const layout = detectLayout(dir);
      const interactive = !flags.yes && process.stdin.isTTY && process.stdout.isTTY;
      if (!flags.yes && !interactive) throw new UsageError('not a terminal: pass --yes (plus flags such as --production-url-env) to run non-interactively', 'init.non-interactive');
      const answers = {
        name: flags.name ?? layout.name ?? basename(dir),
        productionUrlEnv: flags.productionUrlEnv!,
        stagingUrlEnv: flags.stagingUrlEnv!,
        localUrlEnv: flags.localUrlEnv!,
        productionRef: flags.productionRef ?? layout.linkedRef ?? undefined,
        stagingRef: flags.stagingRef,
        seniors: flags.senior,
        s3Bucket: flags.s3Bucket!,
      };
      if (interactive) {
        const { createInterface } = await import('node:readline/promises');
        const rl = createInterface({ input: process.stdin, output: process.stderr });
        const ask = async (q: string, d: string | undefined) => (await rl.question(`${q}${d ? ` [${d}]` : ''}: `)).trim() || d;
        note(`Detected a ${layout.layout} project (migrations in ${layout.migrationsDir})${layout.linkedRef ? `, linked to ${layout.linkedRef}` : ''}.`);
        answers.name = (await ask('Project name', answers.name))!;
        answers.productionUrlEnv = (await ask('Variable holding the PRODUCTION connection URL', answers.productionUrlEnv))!;
        answers.stagingUrlEnv = (await ask('Variable holding the STAGING connection URL', answers.stagingUrlEnv))!;
        if (layout.layout === 'supabase') {
          answers.productionRef = await ask('Supabase project ref of production', answers.productionRef);
          answers.stagingRef = await ask('Supabase project ref of staging', answers.stagingRef);
        }
        const seniors = await ask('Senior team members who approve production changes (comma-separated)', answers.seniors.join(','));
        answers.seniors = (seniors ?? '').split(',').map((s) => s.trim()).filter(Boolean);
        answers.s3Bucket = (await ask('S3-compatible bucket for the second backup copy', answers.s3Bucket))!;
        rl.close();
      }
      for (const [flag, v] of [['--production-url-env', answers.productionUrlEnv], ['--staging-url-env', answers.stagingUrlEnv], ['--local-url-env', answers.localUrlEnv]] as const) {
        if (!VAR.test(v)) throw new UsageError(`${flag}: "${v}" is not an environment variable name (a URL never goes into prodguard.yaml)`);
      }
      const prodRefSource = flags.productionRef === undefined && answers.productionRef === layout.linkedRef ? 'supabase/.temp/project-ref (the linked project; pass --production-ref)' : '--production-ref';
      for (const [flag, v] of [[prodRefSource, answers.productionRef], ['--staging-ref', answers.stagingRef]] as const) {
        if (v && !REF.test(v)) throw new UsageError(`${flag}: "${v}" is not a Supabase project ref (lowercase letters and digits)`);
      }
      if (answers.productionRef && answers.productionRef === answers.stagingRef) throw new UsageError('production and staging cannot have the same Supabase project ref');
      const text = buildConfigText(layout, answers);
      writeFileSync(file, text);
      writeFileSync(join(dir, 'prodguard.schema.json'), JSON.stringify(configJsonSchema(), null, 2) + '\n');
      const { ensureGitignoreSection } = await import('../init/gitignore.js');
      const { file: gitignore, disabled } = ensureGitignoreSection(dir);
      for (const line of disabled) note(`.gitignore: commented out "${line}": it hid .prodguard/approvals, which must be committed`);
      const { openContext } = await import('../context.js');
      const ctx = openContext({ configFile: file });
      await ctx.audit({ action: 'init', command: 'prodguard init', target: '-', verdict: 'ok', reason: `wrote ${file} (${layout.layout} layout)` });
      await ctx.close();
      emit(flags, { file, layout, gitignore }, () =>
        [
          `wrote ${file} (${layout.layout} project, migrations in ${layout.migrationsDir}${answers.productionRef ? `, production = ${answers.productionRef}` : ''})`,
          `wrote the prodguard section of ${gitignore} (state, keys and local backups ignored; approvals and policy committed)`,
          'next: set the URL variables, add an age recipient to backup.encryption.recipients, then run `prodguard config check` and `prodguard status`',
        ].join('\n'),
      );
    });
}
