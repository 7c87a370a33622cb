import type { Command } from 'commander';
import { withContext } from './common.js';
import { emit } from './output.js';
import { jsonOption, keyOption } from './options.js';

export function registerPolicy(program: Command): void {
  const policy = program.command('policy').description('the security policy in force: pinned once, changed only by senior signatures');

  policy
    .command('init')
    .description("pin the first policy (the working tree's team, approvals, CI identity, environments), signed by one of its seniors")
    .addOption(keyOption('your private key file (a senior of the policy being pinned)'))
    .addOption(jsonOption())
    .action(async (opts: { key: string; json?: boolean }, cmd: Command) => {
      const { initPolicy } = await import('../policy/rotate.js');
      await withContext(cmd, async (ctx) => {
        const r = await initPolicy(ctx, { keyFile: opts.key });
        emit(opts, { version: r.policy.version, hash: r.hash, signers: r.signers }, () => `policy version 1 pinned (${r.hash.slice(0, 12)}) by ${r.signers.join(', ')}`);
      });
    });

  policy
    .command('propose')
    .description("write the working tree's policy as a proposal for the next version (not in force until signed)")
    .addOption(jsonOption())
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { proposePolicy } = await import('../policy/rotate.js');
      await withContext(cmd, async (ctx) => {
        const r = await proposePolicy(ctx);
        emit(opts, { file: r.file, version: r.policy.version, created: r.created }, () => `policy version ${r.policy.version} proposed: ${r.file} (proposed, not in force)`);
      });
    });

  policy
    .command('sign [file]')
    .description('sign a policy proposal (default: the working tree\'s) with your key; it takes effect when enough seniors of the policy in force signed')
    .addOption(keyOption('your private key file (a senior of the policy in force)'))
    .addOption(jsonOption())
    .action(async (file: string | undefined, opts: { key: string; json?: boolean }, cmd: Command) => {
      const { signPolicyProposal } = await import('../policy/rotate.js');
      await withContext(cmd, async (ctx) => {
        const r = await signPolicyProposal(ctx, { keyFile: opts.key, file });
        emit(opts, r, () =>
          r.inForce
            ? `policy version ${r.version} is now in force (signed by ${r.signers.join(', ')})`
            : `signed: ${r.signers.length} of ${r.required} senior signature(s) on version ${r.version}; proposed, not in force`,
        );
      });
    });

  policy
    .command('status')
    .description('the policy in force, whether the working tree differs, and pending proposals')
    .addOption(jsonOption())
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { policyStatus } = await import('../policy/rotate.js');
      await withContext(cmd, async (ctx) => {
        const s = await policyStatus(ctx);
        emit(opts, s, () => {
          if (!s.inForce) return `no policy in force: ${s.problem}`;
          const p = s.inForce;
          return [
            `policy version ${p.version} in force (${p.hash.slice(0, 12)}), signed by ${p.signers.join(', ')}`,
            `  members: ${p.members.map((m) => `${m.name} (${m.role})`).join(', ')}`,
            `  ${p.approvalsRequired} approvals per production change; ${p.threshold} senior signature(s) change the policy`,
            `  CI identity: ${p.oidc ? 'OIDC claims pinned' : 'none (production deploys are refused)'}; enrolled environments: ${p.environments.join(', ') || 'none'}`,
            `  backups of production: ${p.backup ? `${p.backup.destinations.join(', ') || 'no destination'}; ${p.backup.encrypted ? `${p.backup.recipients.length} age recipient(s)` : 'unencrypted'}` : 'no destinations signed (production backups are refused)'}`,
            `  staging refreshed from production: ${p.masking ? `${p.masking.masked.length} column(s) masked whole, ${p.masking.partial.length} partial rule(s)${p.masking.partial.length ? ` (${p.masking.partial.join(', ')})` : ''}; kept unmasked: ${p.masking.kept.join(', ') || 'none'}` : 'no masking signed (no column may be kept or partly masked)'}`,
            `working tree's prodguard.yaml policy: ${s.workingTree}`,
            ...s.proposals.map((x) => `  proposal ${x.file}: ${x.signatures} of ${x.required} signature(s)`),
          ].join('\n');
        });
      });
    });
}
