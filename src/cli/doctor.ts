import type { Command } from 'commander';
import { auditedAction } from './audited.js';
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
      type Report = Awaited<ReturnType<typeof runDoctor>>;
      const failed = (report: Report) => report.results.filter((x) => x.state === 'fail');
      const outcome = (report: Report) => ({ verdict: report.ok ? 'ok' : 'failed', reason: report.ok ? 'installation ok' : `${failed(report).length} problem(s): ${failed(report).map((x) => x.id).join(', ')}` });
      const report = await auditedAction(cmd, { action: 'doctor', outcome }, (ctx) => runDoctor(ctx));
      const mark = { ok: '✓', warn: '!', fail: '✗' } as const;
      emit(opts, report, () => report.results.map((x) => `${mark[x.state]} ${x.title}: ${x.detail}${x.fix ? `\n    fix: ${x.fix}` : ''}`).join('\n'));
      if (!report.ok) throw new RefusedError(`${failed(report).length} problem(s) found: ${failed(report).map((x) => x.title).join(', ')}`, 'doctor.failed');
    });
}
