import type { Command } from 'commander';
import { withContext } from './common.js';
import { emit } from './output.js';
import { RefusedError } from '../errors.js';
import { jsonOption } from './options.js';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('scorecard against the six rules: ok / missing / failing, with a reason each')
    .addOption(jsonOption())
    .option('--strict', 'exit 1 unless every rule is ok (for CI gates)')
    .option('-q, --quiet', 'one line per rule, without the individual checks')
    .action(async (opts: { json?: boolean; strict?: boolean; quiet?: boolean }, cmd: Command) => {
      const { runScorecard, formatScorecard } = await import('../status/scorecard.js');
      await withContext(cmd, async (ctx) => {
        const card = await runScorecard(ctx);
        emit(opts, card, () => formatScorecard(card, !opts.quiet));
        const notOk = card.rules.filter((r) => r.state !== 'ok');
        await ctx.audit({ action: 'status', command: 'prodguard status', target: '-', verdict: card.ok ? 'ok' : 'failed', reason: card.ok ? 'all rules ok' : `${notOk.length} rule(s) not ok` });
        if (opts.strict && !card.ok) throw new RefusedError(`${notOk.length} rule(s) not ok: ${notOk.map((r) => r.rule).join(', ')}`, 'status.not-ok');
      });
    });
}
