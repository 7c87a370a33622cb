/**
 * The regression-suite oracle: PostgreSQL's own regression files run, in schedule order, on a
 * real cluster. Every statement is first run inside a READ ONLY transaction (or a read-only
 * savepoint when the file has its own transaction open) and rolled back, then run normally so the
 * file's later statements see its effects. Ground truth: PostgreSQL accepted the statement
 * read-only, or refused it with SQLSTATE 25006. The classifier judges each statement in the
 * context of its file (one input, as `psql -f` sends it; a `\c` starts a new input).
 *
 *   leak        = classified read/session (the guard allows it) but refused read-only
 *   false alarm = accepted read-only but classified write/ddl/privilege/destructive
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { connect } from '../../../src/pg/client.js';
import { classifyParsed, newClassifyContext, rememberStatement, type ClassifyContext, type StatementClass } from '../../../src/sql/classify.js';
import { collectFacts } from '../../../src/sql/facts.js';
import { loadSqlParser, parseStatements } from '../../../src/sql/parser.js';
import { splitPsqlScript } from './psql-split.js';

export interface OracleOptions {
  /** Directory from ensureRegressSql(). */
  dir: string;
  /** Server URL of a throw-away cluster (superuser). */
  url: string;
  /** Fraction of the schedule's files to run (test_setup and create_index always run). 1 = all. */
  sample: number;
  seed: number;
}

export interface Disagreement {
  file: string;
  line: number;
  sql: string;
  class: StatementClass;
  reason: string;
  message?: string;
}

/**
 * Refusals on purpose, reviewed: statements PostgreSQL runs in a read-only transaction that
 * prodguard still refuses, because read-only mode does not stop what they do.
 */
export const DELIBERATE: Array<{ group: string; why: string; reason?: RegExp; fn?: RegExp }> = [
  { group: 'identity switch', why: 'SET ROLE / SET SESSION AUTHORIZATION to a role this input did not create can gain that role’s attributes (BYPASSRLS, SUPERUSER) and impersonates it; the database role is the wall (RESET and switches to roles created in the input are session)', reason: /changes the identity whose privileges apply/ },
  { group: 'safety setting', why: 'triggers off (session_replication_role), isolation, or a removed time/memory limit', reason: /weakens a safety guarantee|removes the (time )?limit|above the cap|lifts read-only/ },
  { group: 'cursor kept past the transaction', why: 'DECLARE … WITH HOLD keeps its result on the server until CLOSE', reason: /WITH HOLD/ },
  { group: 'lock or maintenance', why: 'LOCK (above ACCESS SHARE), CLUSTER, REINDEX, FOR UPDATE/SHARE block other sessions; ANALYZE rewrites the statistics every session’s plans come from', reason: /^LOCK|CLUSTER|REINDEX|FOR UPDATE\/SHARE|VACUUM\/ANALYZE/ },
  {
    group: 'function acting outside the transaction',
    why: 'advisory locks (block deploys), large-object writes, NOTIFY, transaction IDs, index summarisation, statistics resets, server files, sequences, long sleeps',
    fn: /^(pg_advisory|pg_try_advisory|lo_|lowrite|loread|txid_current$|pg_current_xact_id$|pg_notify$|brin_|gin_clean_pending_list$|pg_stat_reset|pg_log_backend_memory_contexts$|pg_ls_|pg_read_|pg_stat_file$|set_config$|pg_sleep|ts_rewrite$|ts_stat$|query_to_xml|cursor_to_xml|nextval$|setval$|pg_cancel_backend$|pg_terminate_backend$|pg_import_system_collations$|pg_create_restore_point$|pg_switch_wal$|pg_replication_origin|pg_logical_emit_message$|pg_backup_)/,
  },
];

/** Kinds of code whose text the input does not show: judged unknown, so refused (fail closed). */
const FAIL_CLOSED = /whose text is not visible|whose DECLARE is not in this input|DO runs an anonymous code block|CALL runs a procedure|declared in this input as write|prepared in this input as write|its body[ :]/;

export interface OracleReport {
  files: string[];
  statements: number;
  unparseable: number;
  skipped: number;
  /** Statements PostgreSQL accepted inside a read-only transaction. */
  acceptedReadOnly: number;
  refusedReadOnly: number;
  /** Failed read-only for another reason (errors the file expects, missing objects): no verdict. */
  otherErrors: number;
  leaks: Disagreement[];
  falseAlarms: Disagreement[];
  falseAlarmRate: number;
  /** False alarms by kind: deliberate (reviewed refusals), fail-closed (unknown code), unintended (the rest). */
  breakdown: { deliberate: Record<string, number>; failClosed: number; unintended: number };
  /** Unintended false alarms / statements accepted read-only: what the ≤ 5% target is about. */
  unintendedRate: number;
  categories: Array<{ category: string; count: number; example: string }>;
}

/** Functions never run even on the throw-away cluster: they act on the host or other processes. */
const NEVER_RUN = new Set(['lo_export', 'pg_file_write', 'pg_file_unlink', 'pg_file_rename', 'pg_promote', 'pg_reload_conf', 'pg_rotate_logfile', 'pg_terminate_backend']);

/** Deterministic PRNG (mulberry32) so a sample is the same on every run with the same seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function scheduledFiles(dir: string, sample: number, seed: number): string[] {
  const all = readFileSync(join(dir, 'parallel_schedule'), 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('test:'))
    .flatMap((l) => l.slice(5).trim().split(/\s+/));
  if (sample >= 1) return all;
  const r = rng(seed);
  // Setup files that most others depend on always run; the rest are sampled.
  const always = new Set(['test_setup', 'create_index', 'create_misc', 'create_table', 'create_view']);
  return all.filter((f) => always.has(f) || r() < sample);
}

/** The category of a false alarm: the function the classifier did not know, else the statement kind and verdict. */
function category(d: Disagreement, kind: string): string {
  const fn = /^(\S+)\(\) is not a known read-only function/.exec(d.reason);
  if (fn) return `function ${fn[1]}()`;
  const inner = /: (\S+)\(\) is not a known read-only function/.exec(d.reason);
  if (inner) return `function ${inner[1]}()`;
  return `${kind} (${d.class}): ${d.reason.replace(/[0-9]+/g, 'N').replace(/\b(on|of|cursor|table|to) \S+/g, '$1 …').slice(0, 90)}`;
}

async function run(client: pg.Client, sql: string): Promise<{ ok: boolean; code?: string; message?: string }> {
  try {
    await client.query(sql);
    return { ok: true };
  } catch (e) {
    const err = e as { code?: string; message?: string };
    // node-pg rejects on ErrorResponse, before ReadyForQuery updates the transaction status:
    // an empty query waits for it (and works in an aborted transaction).
    await client.query('').catch(() => undefined);
    return { ok: false, code: err.code, message: err.message };
  }
}

export async function runRegressOracle(opts: OracleOptions): Promise<OracleReport> {
  await loadSqlParser();
  const files = scheduledFiles(opts.dir, opts.sample, opts.seed);
  const vars = { abs_srcdir: opts.dir, abs_builddir: opts.dir, libdir: '/nonexistent', dlsuffix: '.so' };
  const report: OracleReport = {
    files,
    statements: 0,
    unparseable: 0,
    skipped: 0,
    acceptedReadOnly: 0,
    refusedReadOnly: 0,
    otherErrors: 0,
    leaks: [],
    falseAlarms: [],
    falseAlarmRate: 0,
    breakdown: { deliberate: {}, failClosed: 0, unintended: 0 },
    unintendedRate: 0,
    categories: [],
  };
  const cats = new Map<string, { count: number; example: string }>();

  // pg_regress's database name: some files refer to it (ALTER DATABASE regression …). The
  // built-in function names tell a user-defined function (unknown code) from a built-in one.
  let builtins: Set<string>;
  {
    const admin = await connect(opts.url);
    await run(admin, 'CREATE DATABASE regression');
    builtins = new Set((await admin.query(`SELECT DISTINCT proname FROM pg_proc WHERE pronamespace = 'pg_catalog'::regnamespace`)).rows.map((r) => r.proname as string));
    await admin.end();
  }
  const kindOf = (d: Disagreement): { deliberate?: string; failClosed?: boolean } => {
    const fn = /(?:^|: |EXPLAIN plans )([A-Za-z0-9_.]+)\(\)/.exec(d.reason)?.[1];
    const name = fn?.split('.').pop()?.toLowerCase();
    for (const g of DELIBERATE) {
      if (g.reason?.test(d.reason)) return { deliberate: g.group };
      if (g.fn && name && g.fn.test(name)) return { deliberate: g.group };
    }
    if (FAIL_CLOSED.test(d.reason)) return { failClosed: true };
    if (name && /is not a known read-only function|which the planner may evaluate/.test(d.reason) && (!builtins.has(name) || fn!.includes('.'))) return { failClosed: true };
    return {};
  };
  const url = new URL(opts.url);
  url.pathname = '/regression';
  // A per-statement ceiling keeps a pathological statement from stalling the run; the files' own SETs still apply.
  url.searchParams.set('options', '-c statement_timeout=20s -c lock_timeout=5s -c client_min_messages=error');

  for (const file of files) {
    const text = readFileSync(join(opts.dir, 'sql', `${file}.sql`), 'utf8');
    let client = await connect(url.toString());
    client.on('error', () => undefined);
    let ctx: ClassifyContext = newClassifyContext();
    try {
      for (const st of splitPsqlScript(text, vars)) {
        report.statements++;
        if (st.newSession) {
          await client.end().catch(() => undefined);
          client = await connect(url.toString());
          client.on('error', () => undefined);
          ctx = newClassifyContext();
        }
        let parsed;
        try {
          parsed = parseStatements(st.sql);
        } catch {
          report.unparseable++;
          continue;
        }
        if (parsed.length !== 1) {
          report.unparseable++;
          continue;
        }
        const p = parsed[0];
        // The context records only statements that succeeded, as a gateway that sees each result would.
        const c = classifyParsed(p, ctx, { remember: false });
        const unsafe =
          st.gexec ||
          st.copyStdio ||
          (p.kind === 'CopyStmt' && (p.node.is_program || (!p.node.is_from && p.node.filename))) ||
          p.kind === 'LoadStmt' ||
          collectFacts(p.node).functions.some((f) => NEVER_RUN.has(f[f.length - 1].toLowerCase()));
        if (unsafe) {
          report.skipped++;
          continue;
        }
        const status = client.getTransactionStatus();
        // Transaction control and statements in an aborted transaction have no read-only verdict.
        if (p.kind !== 'TransactionStmt' && status !== 'E') {
          const inTx = status === 'T';
          try {
            await client.query(inTx ? 'SAVEPOINT prodguard_oracle; SET LOCAL transaction_read_only = on' : 'BEGIN TRANSACTION READ ONLY');
          } catch (e) {
            throw new Error(`${file}:${st.line} status ${status} before ${st.sql.slice(0, 80)}: ${(e as Error).message}`);
          }
          const o = await run(client, st.sql);
          await client.query(inTx ? 'ROLLBACK TO SAVEPOINT prodguard_oracle; RELEASE SAVEPOINT prodguard_oracle' : 'ROLLBACK').catch(() => undefined);
          // PREPARE is not transactional: the probe's prepared statement survives the rollback.
          if (o.ok && p.kind === 'PrepareStmt') await run(client, `DEALLOCATE "${String(p.node.name).replace(/"/g, '""')}"`);
          const allowed = c.class === 'read' || c.class === 'session';
          const d: Disagreement = { file, line: st.line, sql: st.sql.slice(0, 300), class: c.class, reason: c.reason, message: o.message };
          if (o.ok) {
            report.acceptedReadOnly++;
            if (!allowed) {
              report.falseAlarms.push(d);
              const k = category(d, c.kind);
              const e = cats.get(k) ?? { count: 0, example: d.sql.slice(0, 120).replace(/\s+/g, ' ') };
              e.count++;
              cats.set(k, e);
            }
          } else if (o.code === '25006') {
            report.refusedReadOnly++;
            if (allowed) report.leaks.push(d);
          } else report.otherErrors++;
        }
        if ((await run(client, st.sql)).ok) rememberStatement(p, c.class, ctx);
      }
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  report.falseAlarmRate = report.acceptedReadOnly ? report.falseAlarms.length / report.acceptedReadOnly : 0;
  for (const d of report.falseAlarms) {
    const k = kindOf(d);
    if (k.deliberate) report.breakdown.deliberate[k.deliberate] = (report.breakdown.deliberate[k.deliberate] ?? 0) + 1;
    else if (k.failClosed) report.breakdown.failClosed++;
    else report.breakdown.unintended++;
  }
  report.unintendedRate = report.acceptedReadOnly ? report.breakdown.unintended / report.acceptedReadOnly : 0;
  report.categories = [...cats].map(([category, v]) => ({ category, ...v })).sort((a, b) => b.count - a.count);
  return report;
}
