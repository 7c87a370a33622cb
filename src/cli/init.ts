import type { Command } from 'commander';
import { collect } from './common.js';
import { audited } from './audited.js';
import { emit, note } from './output.js';
import { UsageError } from '../errors.js';
import { answerChecks as check, validateInitAnswers } from '../init/validate-answers.js';
import { dirOption, forceOption, jsonOption } from './options.js';
import { existsSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';

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
  agents?: string;
  mcp: boolean;
  ci?: string;
  schedule?: string;
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
    .option('--agents <list>', 'agents to wire the guard into: claude-code,cursor,gemini or none (default: the ones detected in the project)')
    .option('--no-mcp', 'do not register the read-only `prodguard mcp` door in the agents\' MCP settings')
    .option('--ci <kind>', 'write the CI workflows: github or none (default: github when .github/ exists)')
    .option('--schedule <who>', 'who runs the daily backup: serve (a prodguard serve process) or ci (a scheduled workflow)')
    .addOption(jsonOption())
    .action(async (flags: InitFlags) => {
      const { detectLayout } = await import('../init/detect.js');
      const { buildConfigText } = await import('../init/build-config.js');
      const { configJsonSchema } = await import('../config/schema.js');
      const dir = resolve(flags.dir ?? '.');
      if (!existsSync(dir)) throw new UsageError(`directory ${dir} does not exist`);
      const file = join(dir, 'prodguard.yaml');
      if (existsSync(file) && !flags.force) throw new UsageError(`${file} already exists; use --force to overwrite it`, 'init.exists');
      const layout = detectLayout(dir);
      const { findConnectionVariables, suggestVariable } = await import('../init/dotenv-vars.js');
      const { detectAgents } = await import('../init/agents.js');
      const found = findConnectionVariables(dir);
      const detected = detectAgents(dir);
      const given = (name: string) => process.argv.some((a) => a === name || a.startsWith(`${name}=`));
      const interactive = !flags.yes && process.stdin.isTTY && process.stdout.isTTY;
      if (!flags.yes && !interactive) throw new UsageError('not a terminal: pass --yes (plus flags such as --production-url-env) to run non-interactively', 'init.non-interactive');
      const answers = {
        name: flags.name ?? layout.name ?? basename(dir),
        // A variable found in .env* whose name says which environment it is beats the default name.
        productionUrlEnv: given('--production-url-env') ? flags.productionUrlEnv! : suggestVariable(found, 'production', flags.productionUrlEnv!),
        stagingUrlEnv: given('--staging-url-env') ? flags.stagingUrlEnv! : suggestVariable(found, 'staging', flags.stagingUrlEnv!),
        localUrlEnv: given('--local-url-env') ? flags.localUrlEnv! : suggestVariable(found, 'local', flags.localUrlEnv!),
        productionRef: flags.productionRef ?? layout.linkedRef ?? undefined,
        stagingRef: flags.stagingRef,
        seniors: flags.senior,
        s3Bucket: flags.s3Bucket,
        secondPlace: flags.secondPlace as 's3' | 'dir',
        secondDirEnv: flags.secondDirEnv,
        secondBucketEnv: flags.secondBucketEnv,
        agents: flags.agents ?? (detected.length ? detected.map((d) => d.agent).join(',') : 'none'),
        ci: flags.ci ?? (existsSync(join(dir, '.github')) ? 'github' : 'none'),
        schedule: flags.schedule ?? 'serve',
      };
      if (interactive) {
        // readline only for the dialogue: not loaded on every CLI start (`prodguard --help`).
        const { createInterface } = await import('node:readline');
        const rl = createInterface({ input: process.stdin, output: process.stderr });
        // Lines are read through the iterator, which buffers them: answers typed ahead or pasted
        // at once are not lost between two questions (rl.question drops them).
        const lines = rl[Symbol.asyncIterator]();
        // Each answer is checked as it is given; a bad one is explained and asked again.
        const ask = async (q: string, d: string | undefined, check?: (v: string) => string | null): Promise<string | undefined> => {
          for (;;) {
            rl.setPrompt(`${q}${d ? ` [${d}]` : ''}: `);
            rl.prompt();
            const next = await lines.next();
            if (next.done) throw new UsageError(`input ended before "${q}" was answered; nothing was written`, 'init.input-ended');
            const v = String(next.value).trim() || d;
            const problem = v !== undefined && check ? check(v) : null;
            if (!problem) return v;
            note(`  ${problem}; try again`);
          }
        };
        note(`Detected a ${layout.layout} project (migrations in ${layout.migrationsDir})${layout.linkedRef ? `, linked to ${layout.linkedRef}` : ''}.`);
        if (found.length) note(`Connection variables in your .env files (values not shown): ${found.map((f) => `${f.name} (${f.file})`).join(', ')}`);
        else note('No connection variable found in .env* files; name the variables your deploy environment will set.');
        if (detected.length) note(`Agents detected: ${detected.map((d) => `${d.agent} (${d.sign})`).join(', ')}`);
        answers.name = (await ask('Project name', answers.name, check.name))!;
        answers.productionUrlEnv = (await ask('Variable holding the PRODUCTION connection URL', answers.productionUrlEnv, check.variable))!;
        answers.stagingUrlEnv = (await ask('Variable holding the STAGING connection URL', answers.stagingUrlEnv, check.stagingVariable(answers.productionUrlEnv)))!;
        if (layout.layout === 'supabase') {
          answers.productionRef = await ask('Supabase project ref of production', answers.productionRef, check.ref);
          answers.stagingRef = await ask('Supabase project ref of staging', answers.stagingRef, check.stagingRef(answers.productionRef));
        }
        const seniors = await ask('Senior team members who approve production changes (comma-separated)', answers.seniors.join(','), check.seniors);
        answers.seniors = (seniors ?? '').split(',').map((s) => s.trim()).filter(Boolean);
        if (layout.layout === 'supabase') note(supabaseConnectionAdvice());
        answers.s3Bucket = await ask('S3-compatible bucket for the off-site copy (empty: read it from PRODGUARD_BACKUP_BUCKET)', answers.s3Bucket);
        answers.secondPlace = ((await ask('Second, independent place: another S3-compatible provider (s3) or a directory on another disk (dir)', answers.secondPlace, check.place)) ?? 's3') as 's3' | 'dir';
        if (answers.secondPlace === 'dir') answers.secondDirEnv = (await ask('Variable holding that directory (not inside this project, not on the same disk)', answers.secondDirEnv, check.variable))!;
        else answers.secondBucketEnv = (await ask('Variable holding the second bucket (a different provider or account)', answers.secondBucketEnv, check.variable))!;
        answers.agents = (await ask('Agents to put the guard in front of (claude-code,cursor,gemini or none)', answers.agents, check.agents))!;
        answers.ci = (await ask('CI workflows to write (github or none)', answers.ci, check.ci))!;
        answers.schedule = (await ask('Who runs the daily backup: a prodguard serve process (serve) or a scheduled CI workflow (ci)', answers.ci === 'github' && !flags.schedule ? 'ci' : answers.schedule, check.schedule))!;
        rl.close();
      }
      validateInitAnswers(answers, flags.productionRef === undefined && answers.productionRef === layout.linkedRef ? 'supabase/.temp/project-ref (the linked project; pass --production-ref)' : '--production-ref');
      const text = buildConfigText(layout, { ...answers, schedule: answers.schedule as 'serve' | 'ci' });
      writeFileSync(file, text);
      writeFileSync(join(dir, 'prodguard.schema.json'), JSON.stringify(configJsonSchema(), null, 2) + '\n');
      const { ensureGitignoreSection } = await import('../init/gitignore.js');
      const { file: gitignore, disabled } = ensureGitignoreSection(dir);
      for (const line of disabled) note(`.gitignore: commented out "${line}": it hid .prodguard/approvals, which must be committed`);
      const { openContext } = await import('../context.js');
      const ctx = openContext({ configFile: file });
      // Wire what the project uses: the guard and the read-only MCP door into each agent, the CI workflows.
      const { chosenAgents, wireProject } = await import('../init/wire.js');
      const agents = chosenAgents(answers.agents);
      const wired = wireProject(dir, ctx.loaded, { agents, mcp: flags.mcp !== false, ci: answers.ci, schedule: answers.schedule });
      await audited(ctx, { action: 'init', outcome: () => ({ reason: `wrote ${file} (${layout.layout} layout)${wired.length ? `; ${wired.join('; ')}` : ''}` }) }, () => file);
      await ctx.close();
      const next = [
        'npx prodguard backup keygen --out ~/.config/prodguard/backup.key   # then put the printed public key into backup.encryption.recipients',
        'npx prodguard doctor                                              # every missing variable, key and credential at once',
        'npx prodguard status                                              # the scorecard, rule by rule',
      ];
      emit(flags, { file, layout, gitignore, variablesFound: found, agents, wired, next }, () =>
        [
          `wrote ${file} (${layout.layout} project, migrations in ${layout.migrationsDir}${answers.productionRef ? `, production = ${answers.productionRef}` : ''})`,
          `connections: production $${answers.productionUrlEnv}, staging $${answers.stagingUrlEnv}, local $${answers.localUrlEnv}${found.length ? ` (found in your .env files: ${found.map((f) => f.name).join(', ')})` : ''}`,
          `backups go to two independent places named by variables: ${answers.s3Bucket ? `bucket ${answers.s3Bucket}` : 'PRODGUARD_BACKUP_BUCKET'} and ${answers.secondPlace === 'dir' ? answers.secondDirEnv : answers.secondBucketEnv} (set them where backups run)`,
          ...(layout.layout === 'supabase' ? [supabaseConnectionAdvice()] : []),
          `wrote the prodguard section of ${gitignore} (state, keys and local backups ignored; approvals and policy committed)`,
          ...wired,
          ...(agents.length ? [] : ['no agent detected: run `npx prodguard install claude-code` (or cursor, gemini) for the one you use']),
          'next:',
          ...next.map((n) => `  ${n}`),
        ].join('\n'),
      );
    });
}
