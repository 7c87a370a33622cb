/**
 * What production itself says about its last deploy (red team ap-054). `prodguard status` used to
 * read the team store's `migrate-deploys` document and show its `verified` flag; any developer
 * with write access to the store could insert a copy claiming a failed deploy verified. The facts
 * here are read from production, where only the deploy job writes:
 * - `prodguard.ci_token_use`: the CI token each real deploy claimed, with its change hash
 *   (src/policy/ci-token-use.ts);
 * - `prodguard.deploy_verification`: each post-deploy verification's outcome, written by the same
 *   process that ran it (verify.ts), right after it compared production with staging.
 */
import { withClient } from '../pg/client.js';
import { errorMessage } from '../errors.js';
import {
  CLAIMS_SQL,
  CREATE_DEPLOY_VERIFICATION_SQL,
  DEPLOY_FACT_TABLES_SQL,
  INSERT_DEPLOY_VERIFICATION_SQL,
  VERIFICATION_SINCE_SQL,
} from './sql/deploy-facts.js';

export interface VerificationFact {
  verifiedAt: string;
  changeHash: string | null;
  ok: boolean;
  differences: number;
  healthFailures: number;
}

export interface ClaimFact {
  changeHash: string;
  runId: string | null;
  usedAt: string;
}

export interface DeployFacts {
  /** The newest CI token claim for the change asked about (null: production never saw that change deployed from CI). */
  claim: ClaimFact | null;
  /** The newest claim of all (a later attempt may have claimed a token and then been refused or failed). */
  newestClaim: ClaimFact | null;
  /** The newest verification production recorded since `claim` (null: none recorded). */
  verification: VerificationFact | null;
}

/**
 * Records a verification's outcome in production. Returns null when recorded, else why not (a
 * read-only connection cannot write it: the outcome then stays only in the team store, and status
 * says production does not confirm it).
 */
export async function recordVerificationInProduction(
  url: string,
  v: { changeHash: string | null; ok: boolean; differences: number; healthFailures: number; productionFingerprint: string; stagingFingerprint: string },
): Promise<string | null> {
  try {
    await withClient(url, async (c) => {
      await c.query(CREATE_DEPLOY_VERIFICATION_SQL);
      await c.query(INSERT_DEPLOY_VERIFICATION_SQL, [v.changeHash, v.ok, v.differences, v.healthFailures, v.productionFingerprint, v.stagingFingerprint]);
    });
    return null;
  } catch (err) {
    return errorMessage(err);
  }
}

const iso = (d: Date | string) => new Date(d).toISOString();

/** Reads the facts about change `changeHash` (at most three small queries on one connection). */
export async function readDeployFacts(url: string, changeHash: string): Promise<DeployFacts> {
  return withClient(url, async (c) => {
    const t = (await c.query(DEPLOY_FACT_TABLES_SQL)).rows[0] as { claims: boolean; verifications: boolean };
    if (!t.claims) return { claim: null, newestClaim: null, verification: null };
    const rows = (await c.query(CLAIMS_SQL, [changeHash])).rows as Array<{ which: string; change_hash: string; run_id: string | null; used_at: Date }>;
    const fact = (r: (typeof rows)[number] | undefined): ClaimFact | null => (r ? { changeHash: r.change_hash, runId: r.run_id, usedAt: iso(r.used_at) } : null);
    const claim = fact(rows.find((r) => r.which === 'change'));
    const newestClaim = fact(rows.find((r) => r.which === 'newest'));
    if (!claim || !t.verifications) return { claim, newestClaim, verification: null };
    const v = (await c.query(VERIFICATION_SINCE_SQL, [claim.usedAt])).rows[0] as
      | { verified_at: Date; change_hash: string | null; ok: boolean; differences: number; health_failures: number }
      | undefined;
    return {
      claim,
      newestClaim,
      verification: v ? { verifiedAt: iso(v.verified_at), changeHash: v.change_hash, ok: v.ok, differences: v.differences, healthFailures: v.health_failures } : null,
    };
  });
}
