import type { Command } from 'commander';
import { collect } from './common.js';
import { audited } from './audited.js';
import { emit, note } from './output.js';
import { UsageError } from '../errors.js';
import { dirOption, forceOption, jsonOption } from './options.js';

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
  secondPlace?: string;
  secondDirEnv?: string;
  secondBucketEnv?: string;
}

/** Which Supabase connection string to put in the URL variables (docs/supabase.md). */
function supabaseConnectionAdvice(): string {
  return 'Supabase connection strings: use the session pooler (postgresql://postgres.<ref>:…@<region>.pooler.supabase.com:5432/postgres) — it works over IPv4 — or the direct host db.<ref>.supabase.co:5432 if this machine has IPv6 (or the IPv4 add-on); never the transaction pooler on port 6543 (dumps and migrations refuse it). See docs/supabase.md.';
}

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('detect the project layout (Supabase or plain migrations/) and write prodguard.yaml')
    .option('-y, --yes', 'non-interactive: accept defaults and the flags given')
    .addOption(forceOption('prodguard.yaml'))
    .addOption(dirOption())
    .option('--name <name>', 'project name')
    .option('--production-url-env <NAME>', 'variable holding the production URL', 'PRODUCTION_DATABASE_URL')
    .option('--staging-url-env <NAME>', 'variable holding the staging URL', 'STAGING_DATABASE_URL')
    .option('--local-url-env <NAME>', 'variable holding the local URL', 'LOCAL_DATABASE_URL')
    .option('--production-ref <REF>', 'Supabase project ref of production (default: the linked project)')
    .option('--staging-ref <REF>', 'Supabase project ref of staging')
    .option('--senior <name>', 'a senior team member (repeatable)', collect, [])
    .option('--s3-bucket <bucket>', 'bucket of the off-site (S3-compatible) backup destination (default: the variable PRODGUARD_BACKUP_BUCKET)')
    .option('--second-place <kind>', 'the second, independent backup place: s3 (another provider) or dir (a directory on another disk)', 's3')
    .option('--second-dir-env <NAME>', 'variable holding the directory of the second place (with --second-place dir)', 'PRODGUARD_BACKUP_DIR')
    .option('--second-bucket-env <NAME>', 'variable holding the bucket of the second place (with --second-place s3)', 'PRODGUARD_BACKUP_BUCKET_2')
    .addOption(jsonOption())
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
        s3Bucket: flags.s3Bucket,
        secondPlace: flags.secondPlace as 's3' | 'dir',
        secondDirEnv: flags.secondDirEnv,
        secondBucketEnv: flags.secondBucketEnv,
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
        if (layout.layout === 'supabase') note(supabaseConnectionAdvice());
        answers.s3Bucket = await ask('S3-compatible bucket for the off-site copy (empty: read it from PRODGUARD_BACKUP_BUCKET)', answers.s3Bucket);
        answers.secondPlace = ((await ask('Second, independent place: another S3-compatible provider (s3) or a directory on another disk (dir)', answers.secondPlace)) ?? 's3') as 's3' | 'dir';
        if (answers.secondPlace === 'dir') answers.secondDirEnv = (await ask('Variable holding that directory (not inside this project, not on the same disk)', answers.secondDirEnv))!;
        else answers.secondBucketEnv = (await ask('Variable holding the second bucket (a different provider or account)', answers.secondBucketEnv))!;
        rl.close();
      }
      const { validateInitAnswers } = await import('../init/validate-answers.js');
      validateInitAnswers(answers, flags.productionRef === undefined && answers.productionRef === layout.linkedRef ? 'supabase/.temp/project-ref (the linked project; pass --production-ref)' : '--production-ref');
      const text = buildConfigText(layout, answers);
      writeFileSync(file, text);
      writeFileSync(join(dir, 'prodguard.schema.json'), JSON.stringify(configJsonSchema(), null, 2) + '\n');
      const { ensureGitignoreSection } = await import('../init/gitignore.js');
      const { file: gitignore, disabled } = ensureGitignoreSection(dir);
      for (const line of disabled) note(`.gitignore: commented out "${line}": it hid .prodguard/approvals, which must be committed`);
      const { openContext } = await import('../context.js');
      const ctx = openContext({ configFile: file });
      await audited(ctx, { action: 'init', outcome: () => ({ reason: `wrote ${file} (${layout.layout} layout)` }) }, () => file);
      await ctx.close();
      emit(flags, { file, layout, gitignore }, () =>
        [
          `wrote ${file} (${layout.layout} project, migrations in ${layout.migrationsDir}${answers.productionRef ? `, production = ${answers.productionRef}` : ''})`,
          `backups go to two independent places named by variables: ${answers.s3Bucket ? `bucket ${answers.s3Bucket}` : 'PRODGUARD_BACKUP_BUCKET'} and ${answers.secondPlace === 'dir' ? answers.secondDirEnv : answers.secondBucketEnv} (set them where backups run)`,
          ...(layout.layout === 'supabase' ? [supabaseConnectionAdvice()] : []),
          `wrote the prodguard section of ${gitignore} (state, keys and local backups ignored; approvals and policy committed)`,
          'next: set the URL variables, add an age recipient to backup.encryption.recipients, then run `prodguard config check` and `prodguard status`',
        ].join('\n'),
      );
    });
}
