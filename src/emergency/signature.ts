/**
 * A break-glass request is signed with the senior's ed25519 key (the same keys as approvals,
 * `prodguard keys generate`) and verified against the public key of a senior of the policy in force
 * (seniors.ts), never against the working tree's team: a name in PRODGUARD_ACTOR or git config proves
 * nothing, a line in prodguard.yaml proves nothing, possession of a pinned key does. The signed
 * payload is kept with the break-glass record as evidence.
 */
import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import type { PolicyMember } from '../policy/document.js';
import { RefusedError } from '../errors.js';
import { formatPublicKey, parsePublicKey } from '../migrate/keys.js';
import { seniorMembers } from './seniors.js';

export interface BreakGlassPayload {
  action: 'break-glass';
  env: string;
  reason: string;
  durationMs: number;
  signer: string;
  time: string;
}

export interface SignedBreakGlass {
  payload: BreakGlassPayload;
  signature: string;
}

export function canonicalBreakGlass(p: BreakGlassPayload): string {
  return JSON.stringify({ action: p.action, durationMs: p.durationMs, env: p.env, reason: p.reason, signer: p.signer, time: p.time });
}

/** The member of the policy in force (any role) whose public key matches this private key. */
function memberOf(members: PolicyMember[], key: KeyObject): PolicyMember | null {
  const pub = formatPublicKey(createPublicKey(key));
  return members.find((m) => m.publicKey?.trim() === pub) ?? null;
}

/** Signs the request as the key's owner; refuses unless that owner is a senior. */
export function signBreakGlass(members: PolicyMember[], key: KeyObject, p: Omit<BreakGlassPayload, 'action' | 'signer' | 'time'>, now = new Date()): SignedBreakGlass {
  const member = memberOf(members, key);
  if (!member) throw new RefusedError('break-glass refused: this key belongs to no member of the policy in force (a key in prodguard.yaml counts only once seniors sign it into the policy: prodguard policy propose / sign)', 'break-glass.not-senior');
  const payload: BreakGlassPayload = { action: 'break-glass', ...p, signer: member.name, time: now.toISOString() };
  return { payload, signature: sign(null, Buffer.from(canonicalBreakGlass(payload)), key).toString('base64') };
}

/** The senior who signed, or a refusal saying why the signature does not count. */
export function verifyBreakGlass(members: PolicyMember[], s: SignedBreakGlass): PolicyMember {
  const member = seniorMembers(members).find((m) => m.name === s.payload.signer);
  if (!member) {
    const other = members.find((m) => m.name === s.payload.signer);
    throw new RefusedError(`break-glass refused: ${s.payload.signer} has role ${other?.role ?? 'none'}; only role senior in the policy in force may break the glass`, 'break-glass.not-senior');
  }
  let ok = false;
  try {
    ok = !!member.publicKey && verify(null, Buffer.from(canonicalBreakGlass(s.payload)), parsePublicKey(member.publicKey), Buffer.from(s.signature, 'base64'));
  } catch {
    ok = false;
  }
  if (!ok) throw new RefusedError(`break-glass refused: the signature is not by ${member.name}'s key`, 'break-glass.bad-signature');
  return member;
}
