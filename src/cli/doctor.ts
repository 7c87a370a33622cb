import type { Command } from 'commander';
import { withContext } from './common.js';
import { emit } from './output.js';
import { RefusedError } from '../errors.js';
import { jsonOption } from './options.js';

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('check the installation end to end (binaries, connections, destinations, keys, clock, hooks) and print fixes')
    .addOption(jsonOption())
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { runDoctor } = await import('../doctor/checks.js');
      await withContext(cmd, async (ctx) => {
        const report = await runDoctor(ctx);
        const mark = { ok: '✓', warn: '!', fail: '✗' } as const;
        emit(opts, report, () =>
          report.results.map((x) => `${mark[x.state]} ${x.title}: ${x.detail}${x.fix ? `\n    fix: ${x.fix}` : ''}`).join('\n'),
        );
        const failed = report.results.filter((x) => x.state === 'fail');
        await ctx.audit({ action: 'doctor', command: 'prodguard doctor', target: '-', verdict: report.ok ? 'ok' : 'failed', reason: report.ok ? 'installation ok' : `${failed.length} problem(s): ${failed.map((x) => x.id).join(', ')}` });
        if (!report.ok) throw new RefusedError(`${failed.length} problem(s) found: ${failed.map((x) => x.title).join(', ')}`, 'doctor.failed');
      });
    });
}
