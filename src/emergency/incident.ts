/**
 * Incident timeline: a title, notes people add as things happen, and — at export — the audit
 * records of the same period (what was blocked, backed up, restored, deployed, break-glass),
 * merged by time into one markdown timeline for the post-mortem. One incident is open at a time.
 */
import { randomUUID } from 'node:crypto';
import type { Context } from '../context.js';
import { UsageError } from '../errors.js';
import { currentActor } from '../audit/actor.js';
import type { AuditRecord } from '../audit/log.js';

export const INCIDENTS_COLLECTION = 'incidents';

export interface IncidentNote {
  at: string;
  by: string;
  text: string;
}

export interface Incident {
  id: string;
  title: string;
  startedAt: string;
  startedBy: string;
  closedAt: string | null;
  closedBy: string | null;
  notes: IncidentNote[];
}

async function all(ctx: Context): Promise<Incident[]> {
  return (await (await ctx.store()).list<Incident>(INCIDENTS_COLLECTION)).map((d) => d.doc).sort((a, b) => (a.startedAt < b.startedAt ? 1 : -1));
}

export async function openIncident(ctx: Context): Promise<Incident | null> {
  return (await all(ctx)).find((i) => !i.closedAt) ?? null;
}

export async function startIncident(ctx: Context, title: string, now = new Date()): Promise<Incident> {
  if (!title.trim()) throw new UsageError('an incident needs a title', 'incident.title');
  const open = await openIncident(ctx);
  if (open) throw new UsageError(`incident "${open.title}" (${open.id}) is still open; close it first (prodguard incident close)`, 'incident.open');
  const inc: Incident = { id: `inc-${now.toISOString().slice(0, 10)}-${randomUUID().slice(0, 8)}`, title, startedAt: now.toISOString(), startedBy: currentActor(), closedAt: null, closedBy: null, notes: [] };
  await (await ctx.store()).put(INCIDENTS_COLLECTION, inc.id, inc);
  await ctx.audit({ action: 'incident.start', command: `prodguard incident start`, target: '-', verdict: 'ok', reason: title, details: { incident: inc.id } });
  return inc;
}

async function requireOpen(ctx: Context): Promise<Incident> {
  const open = await openIncident(ctx);
  if (!open) throw new UsageError('no open incident (prodguard incident start "<title>")', 'incident.none');
  return open;
}

export async function noteIncident(ctx: Context, text: string, now = new Date()): Promise<Incident> {
  if (!text.trim()) throw new UsageError('a note needs text', 'incident.note');
  const inc = await requireOpen(ctx);
  inc.notes.push({ at: now.toISOString(), by: currentActor(), text });
  await (await ctx.store()).put(INCIDENTS_COLLECTION, inc.id, inc);
  return inc;
}

export async function closeIncident(ctx: Context, now = new Date()): Promise<Incident> {
  const inc = await requireOpen(ctx);
  inc.closedAt = now.toISOString();
  inc.closedBy = currentActor();
  await (await ctx.store()).put(INCIDENTS_COLLECTION, inc.id, inc);
  await ctx.audit({ action: 'incident.close', command: 'prodguard incident close', target: '-', verdict: 'ok', reason: inc.title, details: { incident: inc.id } });
  return inc;
}

export async function listIncidents(ctx: Context): Promise<Incident[]> {
  return all(ctx);
}

/** The incident ('current' = the open one, else the latest) as a markdown timeline. */
export async function exportIncident(ctx: Context, id = 'current', now = new Date()): Promise<string> {
  const incs = await all(ctx);
  const inc = id === 'current' ? (incs.find((i) => !i.closedAt) ?? incs[0]) : incs.find((i) => i.id === id);
  if (!inc) throw new UsageError(id === 'current' ? 'no incident recorded' : `no incident "${id}"`, 'incident.unknown');
  const from = Date.parse(inc.startedAt);
  const to = inc.closedAt ? Date.parse(inc.closedAt) : now.getTime();
  const audit = ctx.auditLog.read().filter((r: AuditRecord) => {
    const t = Date.parse(r.time);
    return t >= from && t <= to && !r.action.startsWith('incident.');
  });
  type Row = { at: string; who: string; kind: string; text: string };
  const rows: Row[] = [
    ...inc.notes.map((n) => ({ at: n.at, who: n.by, kind: 'note', text: n.text })),
    ...audit.map((r) => ({ at: r.time, who: r.actor, kind: `${r.action} (${r.verdict})`, text: `${r.target !== '-' ? `[${r.target}] ` : ''}${r.reason}` })),
  ].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  return [
    `# Incident: ${inc.title}`,
    '',
    `- id: ${inc.id}`,
    `- started: ${inc.startedAt} by ${inc.startedBy}`,
    `- closed: ${inc.closedAt ? `${inc.closedAt} by ${inc.closedBy}` : 'still open'}`,
    `- duration: ${Math.round((to - from) / 60_000)} min`,
    '',
    '## Timeline',
    '',
    '| time (UTC) | who | what | detail |',
    '|---|---|---|---|',
    ...rows.map((r) => `| ${r.at.slice(0, 19).replace('T', ' ')} | ${cell(r.who)} | ${cell(r.kind)} | ${cell(r.text)} |`),
    '',
  ].join('\n');
}
