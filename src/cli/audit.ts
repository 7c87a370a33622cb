import { readFileSync, existsSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { withContext } from './common.js';
import { emit, table } from './output.js';
import { UsageError, RefusedError } from '../errors.js';
import { choiceOption, envOption, intOption, jsonOption, keyOption } from './options.js';

export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('the tamper-evident audit log of every decision and operation');

  audit
    .command('tail')
    .description('show the newest audit records')
    .addOption(intOption('-n, --lines <n>', 'how many records', { min: 1 }, 20))
    .addOption(jsonOption())
    .action(async (opts: { lines: number; json?: boolean }, cmd: Command) => {
      await withContext(cmd, async (ctx) => {
        const { actorLabel, withActorMark } = await import('../audit/actor.js');
        const recs = ctx.auditLog.tail(opts.lines);
        // The actor is marked unless the record's writer verified it (a signature, a CI token): ap-082.
        emit(opts, recs.map(withActorMark), () =>
          recs.length === 0
            ? 'the audit log is empty'
            : table(
                ['seq', 'time', 'actor', 'action', 'target', 'verdict', 'reason'],
                recs.map((r) => [r.seq, r.time.replace('T', ' ').slice(0, 19), actorLabel(r), r.action, r.target, r.verdict, r.reason.slice(0, 100)]),
              ),
        );
      });
    });

  audit
    .command('verify')
    .description('check the hash chain: finds any edited, deleted, inserted or reordered record')
    .addOption(jsonOption())
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { verifyAuditText } = await import('../audit/log.js');
      const { readAuditHead } = await import('../context.js');
      await withContext(cmd, async (ctx) => {
        const file = ctx.auditLog.file;
        // The head before the log (see status's audit.intact): an append in between is not a cut.
        const head = await readAuditHead(ctx);
        const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
        const result = verifyAuditText(text, head);
        const { verifyAnchored } = await import('../audit/anchor.js');
        const anchors = await verifyAnchored(ctx, undefined, { otherOrigins: true });
        const { unvouchedLine } = await import('../audit/unvouched.js');
        const ok = result.ok && anchors.problems.length === 0;
        emit(opts, { file, ...result, ok, anchors }, () =>
          [
            ...(result.ok ? [`audit log chain intact: ${result.records} records, hash chain verified (${file})`] : result.problems.map((p) => `${file}:${p.line}: ${p.problem}`)),
            anchors.problems.length
              ? anchors.problems.map((p) => `${p.source}: ${p.problem}`).join('\n')
              : `anchors agree: ${anchors.anchored} record(s) in the team store, ${anchors.checkpoints} signed checkpoint(s)`,
            ...anchors.notes.map((n) => `note: ${n}`),
            ...(anchors.unvouched ?? []).map(unvouchedLine),
          ].join('\n'),
        );
        if (!ok) await (await import('../notify/send.js')).notifyEvent(ctx, { event: 'audit.broken', environment: null, summary: `audit log hash chain broken: ${result.problems.length + anchors.problems.length} problem(s), first: ${result.problems[0]?.problem}` });
        if (!ok) throw new RefusedError(`audit log tampered: ${result.problems.length + anchors.problems.length} problem(s) found`, 'audit.tampered');
      });
    });

  audit
    .command('checkpoint')
    .description('sign the audit chain head with the CI/serve key (policy.checkpointKey) and write it to every backup destination')
    .addOption(keyOption('the checkpoint private key file (policy.checkpointKey)'))
    .addOption(jsonOption())
    .action(async (opts: { key: string; json?: boolean }, cmd: Command) => {
      const { writeCheckpoint } = await import('../audit/anchor.js');
      const { loadPrivateKey } = await import('../migrate/keys.js');
      await withContext(cmd, async (ctx) => {
        const r = await writeCheckpoint(ctx, loadPrivateKey(opts.key));
        emit(opts, r, () => `checkpoint of record ${r.checkpoint.seq} (${r.checkpoint.hash.slice(0, 12)}) written to ${r.destinations.join(', ')}`);
      });
    });

  audit
    .command('export')
    .description('export the audit log')
    .addOption(choiceOption('--format <format>', 'export format', ['jsonl', 'csv'] as const, 'jsonl'))
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .action(async (opts: { format: 'jsonl' | 'csv'; output?: string }, cmd: Command) => {
      const { auditToCsv } = await import('../audit/export.js');
      await withContext(cmd, async (ctx) => {
        const recs = ctx.auditLog.read();
        const out = opts.format === 'csv' ? auditToCsv(recs) : recs.map((r) => JSON.stringify(r)).join('\n') + (recs.length ? '\n' : '');
        if (opts.output) writeFileSync(opts.output, out);
        else process.stdout.write(out);
      });
    });
  audit
    .command('search')
    .description('records of the audit log and the gateway\'s per-statement log, filtered by person, environment, verdict, action')
    .option('--person <name>', 'actor (team member) — exact match')
    .addOption(envOption('filter'))
    .option('--verdict <verdict>', 'allow, deny, ok, failed, …')
    .option('--action <prefix>', 'action prefix, e.g. gateway.statement')
    .addOption(intOption('-n, --lines <n>', 'newest N matches', { min: 1 }, 50))
    .addOption(jsonOption())
    .action(async (opts: { person?: string; env?: string; verdict?: string; action?: string; lines: number; json?: boolean }, cmd: Command) => {
      const { searchAudit } = await import('../gateway/audit-search.js');
      await withContext(cmd, async (ctx) => {
        const { actorLabel, withActorMark } = await import('../audit/actor.js');
        const recs = await searchAudit(ctx, { person: opts.person, env: opts.env, verdict: opts.verdict, action: opts.action, limit: opts.lines });
        // `--person bob` finds what was written under bob's name; unless a signature or a CI token
        // was verified for it, that name is self-declared and says so (red team ap-082).
        emit(opts, recs.map(withActorMark), () =>
          recs.length === 0
            ? 'no matching audit records'
            : table(
                ['time', 'actor', 'action', 'target', 'verdict', 'command / reason'],
                recs.map((r) => [r.time.replace('T', ' ').slice(0, 19), actorLabel(r), r.action, r.target, r.verdict, (r.command || r.reason).replace(/\s+/g, ' ').slice(0, 100)]),
              ),
        );
      });
    });
}
