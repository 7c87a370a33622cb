import type { Command } from 'commander';
import { withContext } from './common.js';
import { emit } from './output.js';
import { envOption, jsonOption } from './options.js';

export function registerEnv(program: Command): void {
  const env = program.command('env').description('environment identities: which database an environment really is');

  env
    .command('enroll')
    .description("give the environment's database an identity (a random id in prodguard.environment_identity, plus its system_identifier and name) and propose it in prodguard.yaml's policy")
    .addOption(envOption('any', { description: 'the environment to enroll' }))
    .addOption(jsonOption())
    .action(async (opts: { env: string; json?: boolean }, cmd: Command) => {
      const { enrollEnvironment } = await import('../policy/environment-identity.js');
      await withContext(cmd, async (ctx) => {
        const r = await enrollEnvironment(ctx, opts.env);
        emit(opts, { environment: opts.env, ...r.identity, reused: r.reused }, () =>
          [
            `${opts.env} (${r.identity.kind}) ${r.reused ? 're-enrolled with its existing' : 'enrolled with a new'} identity ${r.identity.envId.slice(0, 8)}…: server ${r.identity.systemIdentifier}, database ${r.identity.database}`,
            'written to prodguard.yaml (policy.environments): proposed, not in force until the policy is signed (prodguard policy init, or propose + sign)',
          ].join('\n'),
        );
      });
    });
}
