/** Builds a Gateway for one environment from prodguard.yaml, the state store and the environment's URL. */
import { dirname } from 'node:path';
import type { Context } from '../context.js';
import { configPath } from '../config/load.js';
import { connectionUrl, requireEnvironment } from '../config/connection.js';
import { durationMs } from '../config/schema.js';
import { parseConnInfo } from '../pg/conninfo.js';
import { withClient } from '../pg/client.js';
import { UsageError, errorMessage } from '../errors.js';
import { activeGrant } from '../grants/grants.js';
import { GatewayAuditSink } from './audit-sink.js';
import { StoreAuditCopy } from './audit-store.js';
import { auditOrigin } from '../audit/anchor.js';
import { ensureCertificate, secureContext } from './tls.js';
import { getUser } from './users.js';
import { Gateway } from './server.js';
import { shadowReadUrl } from '../shadow/read-from.js';

export interface StartOptions {
  env: string;
  listen?: string;
  /** Overrides gateway.requireTls (tests and benchmarks on loopback). */
  requireTls?: boolean;
  /** Read from this environment, which must be the recorded shadow of `env` (overrides gateway.readFrom). */
  readFrom?: string;
}

export function parseListen(s: string): { host: string; port: number } {
  const m = /^([^\s:]+):(\d+)$/.exec(s);
  if (!m || Number(m[2]) > 65535) throw new UsageError(`--listen must be host:port, got "${s}"`, 'gateway.listen');
  return { host: m[1], port: Number(m[2]) };
}

export async function startGateway(ctx: Context, opts: StartOptions): Promise<{ gateway: Gateway; host: string; port: number; certificate: string; readFrom: string | null }> {
  const cfg = ctx.loaded.config.gateway;
  requireEnvironment(ctx.loaded, opts.env);
  // With readFrom the gateway still judges, audits and names sessions as opts.env, but its
  // upstream is the shadow — refused unless that is the shadow `shadow enable` recorded.
  const readFrom = opts.readFrom ?? cfg.readFrom ?? null;
  const upstreamUrl = readFrom ? await shadowReadUrl(ctx, opts.env, readFrom) : connectionUrl(ctx.loaded, opts.env);
  const upstream = parseConnInfo(upstreamUrl);
  if (!upstream) throw new UsageError(`environment "${readFrom ?? opts.env}": its connection URL is not a PostgreSQL connection string`, 'gateway.upstream');
  const { host, port } = parseListen(opts.listen ?? cfg.listen);
  const store = await ctx.store();
  const stateDir = dirname(configPath(ctx.loaded, ctx.loaded.config.state.path));
  const tlsFiles = ensureCertificate(`${stateDir}/gateway`, { cert: cfg.tlsCert && configPath(ctx.loaded, cfg.tlsCert), key: cfg.tlsKey && configPath(ctx.loaded, cfg.tlsKey) });
  const audit = new GatewayAuditSink(configPath(ctx.loaded, cfg.auditLog));
  // With a team store, every batch of records is copied there too (src/gateway/audit-store.ts).
  let copy: StoreAuditCopy | null = null;
  if (StoreAuditCopy.supported(store)) {
    copy = new StoreAuditCopy(store, auditOrigin(audit.file), (dropped, why) =>
      audit.append({ actor: 'prodguard', action: 'gateway.audit-store-gap', command: '', target: opts.env, verdict: 'degraded', reason: `${dropped} audit records were not copied to the team store (${why}); the local gateway audit log holds them` }, true),
    );
    audit.onFlush = (lines) => copy!.enqueue(lines);
  }
  const tempFileLimit = (await loginMaySetTempFileLimit(upstreamUrl)) ? cfg.tempFileLimit : null;
  const gateway = new Gateway({
    env: opts.env,
    upstream,
    host,
    port,
    tls: secureContext(tlsFiles),
    requireTls: opts.requireTls ?? cfg.requireTls,
    lookupUser: (name) => getUser(store, name),
    // Writes must never land on the shadow: in read-from mode no grant is ever honoured.
    activeGrant: (person) => (readFrom ? Promise.resolve(null) : activeGrant(store, opts.env, person)),
    readFrom,
    audit,
    auditCopy: copy,
    maskLiterals: cfg.maskLiterals,
    statementTimeoutMs: durationMs(cfg.statementTimeout),
    tempFileLimit,
    idleTimeoutMs: durationMs(cfg.idleTimeout),
    maxConnectionsPerUser: cfg.maxConnectionsPerUser,
    maxConnections: cfg.maxConnections,
    maxStatementBytes: cfg.maxStatementBytes,
    authenticationTimeoutMs: durationMs(cfg.authenticationTimeout),
    maxUnauthenticated: cfg.maxUnauthenticatedConnections,
    upstreamUrl,
  });
  try {
    const addr = await gateway.listen();
    return { gateway, ...addr, certificate: tlsFiles.cert, readFrom };
  } catch (err) {
    audit.close();
    throw new UsageError(`gateway cannot listen on ${host}:${port}: ${errorMessage(err)}`, 'gateway.listen');
  }
}

/**
 * temp_file_limit can be set only by a superuser (or a role granted SET on it): sent in the start-up
 * packet of a login that may not, every session would fail. Unknown (upstream down at start):
 * not sent; the role's own setting applies (docs/gateway.md).
 */
async function loginMaySetTempFileLimit(url: string): Promise<boolean> {
  try {
    return await withClient(url, async (c) => (await c.query<{ may: boolean }>(`SELECT rolsuper AS may FROM pg_roles WHERE rolname = current_user`)).rows[0]?.may === true);
  } catch {
    return false;
  }
}
