/**
 * The dashboard's pages, each a function from the project's state to HTML. They read through the
 * layers' own functions (scorecard, backup catalog, drills, migrate records, audit log) — the
 * dashboard shows what `status`, `backup list` and `audit verify` would say, never its own idea.
 */
import { existsSync, readFileSync } from 'node:fs';
import { actorSourceOf, actorVerified } from '../../audit/actor.js';
import type { Context } from '../../context.js';
import { readAuditHead } from '../../context.js';
import { verifyAuditText, type AuditRecord } from '../../audit/log.js';
import { listJobRuns } from '../run-job.js';
import { grantIsActive, listGrants, type Grant } from '../../grants/grants.js';
import { lineChart } from './chart.js';
import { ago, bytes, esc, pill, seconds, tableOf, when } from './html.js';
import { runScorecard } from '../../status/scorecard.js';
import { DRILLS_COLLECTION } from '../../restore/drill-record.js';
import { BREAK_GLASS_COLLECTION } from '../../emergency/break-glass.js';
import * as rec from '../../migrate/records.js';

type Page = { title: string; body: string };

const STATE_TEXT: Record<string, string> = { ok: 'green', missing: 'amber', failing: 'red' };

export async function scorecardPage(ctx: Context): Promise<Page> {
  const card = await runScorecard(ctx);
  const bad = card.rules.filter((r) => r.state !== 'ok').length;
  const banner = card.ok
    ? `<div class="banner ok">All six rules are green.</div>`
    : `<div class="banner ${card.rules.some((r) => r.state === 'failing') ? 'failing' : 'missing'}">${bad} of 6 rules need attention.</div>`;
  const rules = card.rules.map((r) => `<section class="card rule" data-rule="${r.rule}" data-state="${r.state}">
  <div class="n">Rule ${r.rule}<br>${pill(r.state, STATE_TEXT[r.state])}</div>
  <div style="flex:1;min-width:0"><h3>${esc(r.title)}</h3><p class="reason">${esc(r.reason)}</p>
  ${r.checks.length ? `<ul class="checks">${r.checks.map((c) => `<li>${pill(c.state, c.state === 'ok' ? '✓' : c.state === 'missing' ? '○' : '✗')}<span><strong>${esc(c.title)}</strong> — <span class="muted">${esc(c.reason)}</span></span></li>`).join('')}</ul>` : ''}
  </div></section>`).join('');
  return { title: 'Scorecard', body: `<h1>Is production safe?</h1>${banner}${rules}` };
}

export async function backupsPage(ctx: Context): Promise<Page> {
  const { listBackups } = await import('../../backup/index.js');
  const all = await listBackups(ctx);
  const size = (m: (typeof all)[number]) => m.objects.reduce((s, o) => s + o.bytes, 0);
  const envs = [...new Set(all.map((m) => m.environment))].sort();
  const charts = envs.map((env) => {
    const mine = all.filter((m) => m.environment === env);
    return `<div class="card"><h2 style="margin-top:0">${esc(env)}</h2><div class="grid">
      ${lineChart(`backup size, ${env}`, { label: 'size', color: '#2457c5', format: bytes, points: mine.map((m) => ({ t: Date.parse(m.startedAt), v: size(m) })) }, 'no backups yet')}
      ${lineChart(`backup duration, ${env}`, { label: 'duration', color: '#7c3aed', format: (v) => seconds(v), points: mine.map((m) => ({ t: Date.parse(m.startedAt), v: Date.parse(m.finishedAt) - Date.parse(m.startedAt) })) }, 'no backups yet')}
    </div></div>`;
  }).join('');
  const rows = all.map((m) => [
    `<span class="mono">${esc(m.id)}</span>`,
    esc(m.environment),
    `${esc(ago(m.finishedAt))}<br><span class="muted">${when(m.finishedAt)}</span>`,
    bytes(size(m)),
    esc(m.destinations.join(', ')) + (m.degraded ? ` ${pill('failing', 'degraded')}` : ''),
    m.verified ? `${pill(m.verified.ok ? 'ok' : 'failed', m.verified.ok ? 'verified' : 'verify failed')}<br><span class="muted">${esc(ago(m.verified.at))}</span>` : pill('missing', 'never verified'),
    m.recipients.length ? 'encrypted' : '<span class="error">plain</span>',
  ]);
  return {
    title: 'Backups',
    body: `<h1>Backups</h1>${charts || ''}<div class="card">${tableOf(['Backup', 'Env', 'Taken', { label: 'Size', cls: 'num' }, 'Destinations', 'Verified', { label: 'Encryption', cls: 'opt' }], rows, 'No backups in the catalog yet. Run `prodguard backup create --env <env>` or wait for the scheduled backup.')}</div>`,
  };
}

export async function drillsPage(ctx: Context): Promise<Page> {
  type Drill = import('../../restore/drill-record.js').DrillRecord;
  const drills = (await (await ctx.store()).list<Drill>(DRILLS_COLLECTION)).map((d) => d.doc);
  const chart = lineChart('restore time (RTO) per drill', { label: 'RTO', color: '#1a7f4b', format: (v) => seconds(v), points: drills.filter((d) => d.ok).map((d) => ({ t: Date.parse(d.startedAt), v: d.rtoMs })) }, 'no successful drills yet');
  const rows = drills.map((d) => [
    when(d.startedAt), esc(d.environment), `<span class="mono">${esc(d.backupId ?? '—')}</span>`, seconds(d.rtoMs), d.rpoMs === null ? '—' : seconds(d.rpoMs),
    String(d.tablesChecked), d.ok ? pill('ok', 'passed') : `${pill('failed')} <span class="muted">${esc(d.error ?? '')}</span>`,
  ]);
  return { title: 'Drills', body: `<h1>Restore drills</h1><div class="card">${chart}</div><div class="card">${tableOf(['When', 'Env', 'Backup', { label: 'RTO', cls: 'num' }, { label: 'RPO', cls: 'num opt' }, { label: 'Tables', cls: 'num opt' }, 'Result'], rows, 'No drills yet. Run `prodguard restore drill` or wait for the weekly one.')}</div>` };
}

export async function changesPage(ctx: Context): Promise<Page> {
  const { evaluateApprovals } = await import('../../migrate/approvals.js');
  const store = await ctx.store();
  const changes = (await store.list<import('../../migrate/records.js').ChangeRecord>(rec.CHANGES)).map((d) => d.doc);
  const deploys = (await store.list<import('../../migrate/records.js').DeployRecord>(rec.DEPLOYS)).map((d) => d.doc);
  const rows = changes.map((c) => {
    const deployed = deploys.find((d) => d.changeHash === c.hash && d.outcome === 'deployed');
    let approvers: string[] = deployed?.approvers ?? [];
    let state = deployed ? 'deployed' : 'pending';
    if (!deployed) {
      try {
        const s = evaluateApprovals(ctx.loaded, { environment: c.environment, hash: c.hash, migrations: c.migrations }, c.author);
        approvers = s.validApprovers;
        if (s.ok) state = 'approved';
      } catch {
        /* approvals unreadable: shown as pending */
      }
    }
    return [
      `<span class="mono">${esc(c.hash.slice(0, 12))}</span>`, esc(c.environment), esc(c.author), when(c.requestedAt),
      esc(c.migrations.map((m) => m.file).join(', ')), approvers.length ? esc(approvers.join(', ')) : '<span class="muted">none yet</span>',
      pill(state === 'deployed' ? 'ok' : state === 'approved' ? 'running' : 'missing', state),
    ];
  });
  const deployRows = deploys.map((d) => [when(d.at), esc(d.environment), `<span class="mono">${esc(d.changeHash.slice(0, 12))}</span>`, esc(d.actor), esc(d.approvers.join(', ') || '—'), pill(d.outcome === 'deployed' ? 'ok' : 'failed', d.outcome)]);
  return {
    title: 'Changes',
    body: `<h1>Changes</h1><div class="card"><h2 style="margin-top:0">Requested</h2>${tableOf(['Change', 'Env', 'Author', 'Requested', { label: 'Migrations', cls: 'opt' }, 'Approved by', 'State'], rows, 'No production changes requested.')}</div>
<div class="card"><h2 style="margin-top:0">Deploys</h2>${tableOf(['When', 'Env', 'Change', 'By', 'Approvers', 'Outcome'], deployRows, 'No deploys yet.')}</div>`,
  };
}

function auditIntegrity(ctx: Context, head: { seq: number; hash: string } | null): { ok: boolean; records: number; problems: string[] } {
  const file = ctx.auditLog.file;
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const r = verifyAuditText(text, head);
  return { ok: r.ok, records: r.records, problems: r.problems.map((p) => `line ${p.line}: ${p.problem}`) };
}

export async function auditChainStatus(ctx: Context) {
  return auditIntegrity(ctx, await readAuditHead(ctx));
}

/** Who, marked unless the record's writer verified it (a signature, a CI token): red team ap-082. */
function who(r: AuditRecord): string {
  if (actorVerified(r)) return esc(r.actor);
  const source = actorSourceOf(r);
  return `${esc(r.actor)} <span class="muted" data-actor-source="${esc(source)}">(${source === 'gateway-login' ? 'gateway login' : 'self-declared'})</span>`;
}

function auditRows(records: AuditRecord[]): string[][] {
  return records.map((r) => [
    `<span class="mono">${r.seq}</span>`, when(r.time), who(r), `<span class="mono">${esc(r.action)}</span>`, esc(r.target),
    pill(['ok', 'allow'].includes(r.verdict) ? 'ok' : ['deny', 'failed', 'refused'].includes(r.verdict) ? 'failed' : ['backup-first', 'degraded'].includes(r.verdict) ? 'missing' : 'neutral', r.verdict),
    `<span class="mono" style="word-break:break-word">${esc(r.command)}</span><br><span class="muted">${esc(r.reason)}</span>`,
  ]);
}

export interface AuditFilter {
  actor?: string;
  target?: string;
  verdict?: string;
}

export async function auditPage(ctx: Context, f: AuditFilter): Promise<Page> {
  const chain = await auditChainStatus(ctx);
  const all = ctx.auditLog.read();
  const options = (vals: string[], sel?: string) => ['<option value="">any</option>', ...[...new Set(vals)].sort().map((v) => `<option${v === sel ? ' selected' : ''}>${esc(v)}</option>`)].join('');
  const shown = all.filter((r) => (!f.actor || r.actor === f.actor) && (!f.target || r.target === f.target) && (!f.verdict || r.verdict === f.verdict)).reverse().slice(0, 500);
  const banner = chain.ok
    ? `<div class="banner ok" data-chain="intact">Hash chain intact: ${chain.records} records verified.</div>`
    : `<div class="banner failing" data-chain="broken">Audit log TAMPERED: ${esc(chain.problems.slice(0, 3).join('; '))}${chain.problems.length > 3 ? ` (and ${chain.problems.length - 3} more)` : ''}</div>`;
  return {
    title: 'Audit log',
    body: `<h1>Audit log</h1>${banner}<form class="filters" method="get" action="/audit">
<label>Person<select name="actor">${options(all.map((r) => r.actor), f.actor)}</select></label>
<label>Environment<select name="target">${options(all.map((r) => r.target), f.target)}</select></label>
<label>Verdict<select name="verdict">${options(all.map((r) => r.verdict), f.verdict)}</select></label>
<button class="primary" type="submit">Filter</button></form>
<p class="muted" id="count">${shown.length} of ${all.length} records</p>
<div class="card">${tableOf(['#', 'When', 'Who', 'Action', 'Env', 'Verdict', { label: 'Command and reason', cls: 'wide' }], auditRows(shown), 'No records match.')}</div>`,
  };
}

export async function guardPage(ctx: Context): Promise<Page> {
  const blocks = ctx.auditLog.read().filter((r) => r.action.startsWith('guard.') && r.verdict !== 'allow').reverse().slice(0, 500);
  const rows = blocks.map((r) => [
    when(r.time), who(r), esc(r.target), pill(r.verdict === 'deny' ? 'failed' : 'missing', r.verdict),
    `<span class="mono" style="word-break:break-word">${esc(r.command)}</span>`, `<span class="muted">${esc(r.reason)}</span>`,
    esc(String((r.details as Record<string, unknown> | undefined)?.integration ?? r.action.replace('guard.', ''))),
  ]);
  return { title: 'Guard blocks', body: `<h1>What the guard stopped</h1><div class="card">${tableOf(['When', 'Who', 'Env', 'Decision', { label: 'Command', cls: 'wide' }, { label: 'Why', cls: 'wide' }, { label: 'Via', cls: 'opt' }], rows, 'The guard has not refused anything yet.')}</div>` };
}

export async function jobsPage(ctx: Context, schedule: Array<{ id: string; cron: string; next: string | null }>): Promise<Page> {
  const runs = await listJobRuns(ctx, { limit: 300 });
  const sched = schedule.map((s) => {
    const last = runs.find((r) => r.job === s.id && r.result !== 'skipped');
    return [`<span class="mono">${esc(s.id)}</span>`, `<span class="mono">${esc(s.cron)}</span>`, when(s.next), last ? `${pill(last.result)} <span class="muted">${esc(ago(last.startedAt))}</span>` : '<span class="muted">never</span>'];
  });
  const rows = runs.map((r) => [
    when(r.startedAt), `<span class="mono">${esc(r.job)}</span>`, pill(r.result) + (r.catchUp ? ` ${pill('neutral', 'catch-up')}` : ''), seconds(r.durationMs),
    `${esc(r.summary)}${r.output.length ? `<details><summary class="muted">output (${r.output.length} lines)</summary><div class="mono">${r.output.map(esc).join('<br>')}</div></details>` : ''}`,
    esc(`${r.runner.kind} on ${r.runner.host}`),
  ]);
  return {
    title: 'Job runs',
    body: `<h1>Jobs</h1><div class="card"><h2 style="margin-top:0">Schedule</h2>${tableOf(['Job', 'Cron', 'Next run', 'Last result'], sched, 'No jobs scheduled (this process is not the leader, or the config schedules none).')}</div>
<div class="card"><h2 style="margin-top:0">Recent runs</h2>${tableOf(['Started', 'Job', 'Result', { label: 'Took', cls: 'num' }, 'Summary', { label: 'Runner', cls: 'opt' }], rows, 'No job has run yet.')}</div>`,
  };
}

/**
 * Write grants (break-glass and deploy), newest first with the open ones on top. Whether a grant is
 * open is judged here, at read time, by the grants module's own rule (grantIsActive): expiry is
 * data, so a grant whose time has passed shows as expired without anything having run.
 */
export async function grantsPage(ctx: Context, now: Date = new Date()): Promise<Page> {
  type BreakGlass = import('../../emergency/break-glass.js').BreakGlassRecord;
  const store = await ctx.store();
  const glass = new Map((await store.list<BreakGlass>(BREAK_GLASS_COLLECTION)).map((d) => [d.doc.grantId, d.doc]));
  const state = (g: Grant) => (grantIsActive(g, now) ? 'active' : g.revokedAt || glass.get(g.id)?.endedAt ? 'ended' : 'expired');
  const grants = (await listGrants(store)).sort((a, b) => Number(grantIsActive(b, now)) - Number(grantIsActive(a, now)) || Date.parse(b.createdAt) - Date.parse(a.createdAt));
  const open = grants.filter((g) => g.kind === 'break-glass' && grantIsActive(g, now));
  const banner = open.length
    ? `<div class="banner failing" data-open="${open.length}">Break-glass open: ${esc(open.map((g) => `${g.person} on ${g.env} until ${g.expiresAt.replace('T', ' ').slice(0, 16)} UTC`).join('; '))}</div>`
    : `<div class="banner ok" data-open="0">No break-glass is open.</div>`;
  const rows = grants.map((g) => {
    const st = state(g);
    const rec = glass.get(g.id);
    const ended = g.revokedAt ?? rec?.endedAt ?? null;
    const closes = st === 'active'
      ? `${when(g.expiresAt)}<br><span class="muted">expires in ${esc(untilText(Date.parse(g.expiresAt) - now.getTime()))}</span>`
      : st === 'ended'
        ? `${when(ended)}<br><span class="muted">ended early${rec?.endedBy ? ` by ${esc(rec.endedBy)}` : ''}</span>`
        : `${when(g.expiresAt)}<br><span class="muted">expired</span>`;
    const extra = rec ? `<br><span class="muted">${rec.backupId ? `backup ${esc(rec.backupId)} verified first` : `without backup, agreed by ${esc(rec.secondSenior ?? '?')}`}</span>` : '';
    return [
      `<span class="mono" data-grant="${esc(g.id)}" data-state="${st}" title="${esc(g.id)}">${esc(g.id.slice(0, 14))}</span>`, esc(g.env), esc(g.person),
      g.kind === 'break-glass' ? pill('missing', 'break-glass') : pill('neutral', g.kind),
      `${esc(g.reason)}${extra}`, when(g.createdAt), closes,
      pill(st === 'active' ? (g.kind === 'break-glass' ? 'failing' : 'running') : 'neutral', st),
    ];
  });
  return {
    title: 'Break-glass grants',
    body: `<h1>Break-glass and write grants</h1>${banner}<div class="card">${tableOf([{ label: 'Grant', cls: 'opt' }, 'Env', 'Person', 'Kind', { label: 'Reason', cls: 'wide' }, 'Opened', 'Expires / ended', 'State'], rows, 'No write grant has ever been opened.')}</div>`,
  };
}

function untilText(ms: number): string {
  if (ms < 60_000) return `${Math.max(0, Math.ceil(ms / 1000))} s`;
  const m = Math.ceil(ms / 60_000);
  return m < 60 ? `${m} min` : `${(m / 60).toFixed(1)} h`;
}
