import { existsSync, readFileSync } from 'node:fs';
import type { StatusCheck } from '../types.js';
import { readAuditHead } from '../../context.js';
import { verifyAuditText } from '../../audit/log.js';

/** Scorecard checks contributed by the foundation: configuration and the audit log. */
export const checks: StatusCheck[] = [
  {
    rule: 1,
    id: 'config.production-identifiable',
    title: 'production is identifiable',
    async run(ctx) {
      const prods = Object.entries(ctx.loaded.config.environments).filter(([, e]) => e.kind === 'production');
      const vague = prods.filter(([, e]) => !e.supabaseRef && !e.urlEnv && !e.urlFile && e.hosts.length === 0).map(([n]) => n);
      if (vague.length) return { state: 'failing', reason: `${vague.join(', ')}: no supabaseRef, urlEnv/urlFile or hosts — the guard cannot recognise it` };
      return { state: 'ok', reason: prods.map(([n, e]) => `${n} via ${[e.supabaseRef && `ref ${e.supabaseRef}`, e.urlEnv && `$${e.urlEnv}`, e.urlFile, ...e.hosts].filter(Boolean).join(', ')}`).join('; ') };
    },
  },
  {
    rule: 4,
    id: 'audit.intact',
    title: 'audit log is intact',
    async run(ctx) {
      const file = ctx.auditLog.file;
      // The head first: a record is written to the log before its head reaches the store, so a log
      // read after the head holds at least that record; read the other way round, an append landing
      // between the two reads looks like records cut off the end.
      const head = await readAuditHead(ctx);
      const r = verifyAuditText(existsSync(file) ? readFileSync(file, 'utf8') : '', head);
      if (!r.ok) return { state: 'failing', reason: `${r.problems.length} problem(s), first: line ${r.problems[0].line}: ${r.problems[0].problem}` };
      return { state: 'ok', reason: `${r.records} records, hash chain verified` };
    },
  },
  {
    rule: 4,
    id: 'team.two-seniors',
    title: 'two senior approvers',
    async run(ctx) {
      const seniors = ctx.loaded.config.team.filter((m) => m.role === 'senior');
      if (seniors.length < 2) return { state: seniors.length ? 'failing' : 'missing', reason: `team has ${seniors.length} senior member(s); production changes need two` };
      return { state: 'ok', reason: `${seniors.map((m) => m.name).join(', ')}` };
    },
  },
  {
    rule: 6,
    id: 'runbook.contacts',
    title: 'recovery contacts listed',
    async run(ctx) {
      const c = ctx.loaded.config.runbook.contacts;
      if (!c.length) return { state: 'missing', reason: 'runbook.contacts is empty: list who to call 24/7' };
      return { state: 'ok', reason: c.map((x) => `${x.name} (${x.role})`).join(', ') };
    },
  },
];
