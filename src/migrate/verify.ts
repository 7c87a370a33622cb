/**
 * Post-deploy verification: production's normalised schema must equal staging's (every
 * difference listed), and config.migrations.healthChecks must pass on production (read-only).
 */
import type { Context } from '../context.js';
import { connectionUrl } from '../config/connection.js';
import { requireReadOnlyChecks, runSmokeTests } from '../restore/smoke.js';
import { envOfKind, requireEnv } from './change.js';
import { diffSnapshots, describeDifference, schemaSnapshot, type SchemaDifference } from './snapshot.js';
import { DEPLOYS, type DeployRecord } from './records.js';
import { healthFailureLine, healthReport, type HealthReport } from './health-report.js';
import { recordVerificationInProduction } from './deploy-facts.js';

export interface VerifyDeployResult {
  ok: boolean;
  environment: string;
  staging: string;
  differences: SchemaDifference[];
  lines: string[];
  /** Redacted: name, rows, how it failed — never production's values (w5c-081). */
  health: HealthReport[];
  productionFingerprint: string;
  stagingFingerprint: string;
  /**
   * null when the outcome was recorded in production itself (prodguard.deploy_verification), the
   * only record `status` takes for fact (ap-054); else why it could not be (a read-only role).
   */
  productionRecordProblem: string | null;
}

export interface VerifyDeployOptions {
  staging?: string;
  audit?: boolean;
  /** The change just deployed (deploy.ts knows it; a standalone verify records none). */
  changeHash?: string;
}

export async function verifyDeploy(ctx: Context, env: string, opts: VerifyDeployOptions = {}): Promise<VerifyDeployResult> {
  const { loaded } = ctx;
  requireEnv(loaded, env, 'production');
  // The health checks come from the unsigned config: refused before anything touches production.
  await requireReadOnlyChecks(loaded.config.migrations.healthChecks, 'health check');
  const staging = envOfKind(loaded, 'staging', opts.staging);
  const prodUrl = connectionUrl(loaded, env);
  const [prod, stag] = await Promise.all([schemaSnapshot(prodUrl), schemaSnapshot(connectionUrl(loaded, staging))]);
  const differences = diffSnapshots(stag, prod);
  const health = (await runSmokeTests(prodUrl, loaded.config.migrations.healthChecks, 'health check')).map(healthReport);
  const lines = [
    ...differences.map((d) => describeDifference(d, { expected: staging, actual: env })),
    ...health.filter((h) => !h.ok).map(healthFailureLine),
  ];
  const ok = lines.length === 0;
  const healthFailures = health.filter((h) => !h.ok).length;
  // Production keeps the outcome where the team store's writers cannot reach it (ap-054).
  const productionRecordProblem = await recordVerificationInProduction(prodUrl, {
    changeHash: opts.changeHash ?? null,
    ok,
    differences: differences.length,
    healthFailures,
    productionFingerprint: prod.fingerprint,
    stagingFingerprint: stag.fingerprint,
  });
  const store = await ctx.store();
  const last = (await store.list<DeployRecord>(DEPLOYS, { where: { environment: env }, limit: 1 }))[0];
  if (last && last.doc.outcome === 'deployed') {
    await store.put(DEPLOYS, last.id, {
      ...last.doc,
      verified: { ok, at: new Date().toISOString(), differences: differences.length, healthFailures },
    });
  }
  if (opts.audit !== false) {
    await ctx.audit({
      action: 'migrate.verify',
      command: `prodguard migrate verify --env ${env}`,
      target: env,
      verdict: ok ? 'ok' : 'failed',
      reason: ok ? `schema equals ${staging}'s; ${health.length} health check(s) passed` : `${lines.length} problem(s): ${lines.slice(0, 5).join('; ')}`,
      details: {
        differences: differences.length,
        productionFingerprint: prod.fingerprint,
        stagingFingerprint: stag.fingerprint,
        recordedInProduction: productionRecordProblem === null,
        ...(productionRecordProblem ? { productionRecordProblem } : {}),
      },
    });
  }
  return { ok, environment: env, staging, differences, lines, health, productionFingerprint: prod.fingerprint, stagingFingerprint: stag.fingerprint, productionRecordProblem };
}
