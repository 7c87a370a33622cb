import type { Command } from 'commander';
import { auditedAction } from './audited.js';
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
      type Card = Awaited<ReturnType<typeof runScorecard>>;
      const notOk = (card: Card) => card.rules.filter((r) => r.state !== 'ok');
      const outcome = (card: Card) => ({ verdict: card.ok ? 'ok' : 'failed', reason: card.ok ? 'all rules ok' : `${notOk(card).length} rule(s) not ok` });
      const card = await auditedAction(cmd, { action: 'status', outcome }, async (ctx) => {
        const card = await runScorecard(ctx);
        emit(opts, card, () => formatScorecard(card, !opts.quiet));
        return card;
      });
      if (opts.strict && !card.ok) throw new RefusedError(`${notOk(card).length} rule(s) not ok: ${notOk(card).map((r) => r.rule).join(', ')}`, 'status.not-ok');
    });
}
