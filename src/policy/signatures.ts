/**
 * Signatures over a policy: ed25519 over "prodguard-policy:v1:" + the policy's hash, by a
 * member's key. The prefix keeps a policy signature from ever being replayed as an approval
 * (approvals sign a different canonical payload).
 */
import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { formatPublicKey, parsePublicKey } from '../migrate/keys.js';
import type { PolicyDocument, PolicyMember } from './document.js';
import { policyHash } from './document.js';

export interface PolicySignature {
  signer: string;
  publicKey: string;
  signedAt: string;
  signature: string;
}

export interface SignedPolicy {
  policy: PolicyDocument;
  signatures: PolicySignature[];
}

const message = (p: PolicyDocument) => Buffer.from(`prodguard-policy:v1:${policyHash(p)}`);

export function signPolicy(p: PolicyDocument, signer: string, key: KeyObject, at = new Date()): PolicySignature {
  return { signer, publicKey: formatPublicKey(createPublicKey(key)), signedAt: at.toISOString(), signature: sign(null, message(p), key).toString('base64') };
}

/**
 * The distinct seniors of `signers` (a policy's members) whose valid signature is on `p`. One key,
 * one vote: a name is counted once however many signatures carry it.
 */
export function validSeniorSigners(p: PolicyDocument, sigs: PolicySignature[], signers: PolicyMember[]): { valid: string[]; rejected: string[] } {
  const valid = new Set<string>();
  const rejected: string[] = [];
  for (const s of sigs) {
    const m = signers.find((x) => x.publicKey && x.publicKey === s.publicKey?.trim());
    if (!m) {
      rejected.push(`${s.signer}: key is not a member's key in the policy in force`);
      continue;
    }
    if (m.role !== 'senior') {
      rejected.push(`${m.name}: role ${m.role}; only seniors sign the policy`);
      continue;
    }
    let ok = false;
    try {
      ok = verify(null, message(p), parsePublicKey(m.publicKey!), Buffer.from(s.signature, 'base64'));
    } catch {
      ok = false;
    }
    if (!ok) {
      rejected.push(`${s.signer}: invalid signature (not over this policy)`);
      continue;
    }
    valid.add(m.name);
  }
  return { valid: [...valid], rejected };
}
