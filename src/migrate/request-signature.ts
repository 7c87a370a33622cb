/**
 * Signed change requests. `migrate request` signs {hash, environment, requester, requestedAt,
 * migrations} with the requester's ed25519 key; a request counts only when that signature verifies
 * against the key the policy in force lists for the requester. An unsigned or badly signed request
 * (a hand-written .change.json, an edited author) is no request: the gate refuses and nothing can be
 * approved. The requester is the change's author and cannot approve it.
 */
import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { canonicalJson } from '../policy/document.js';
import { formatPublicKey, parsePublicKey } from './keys.js';
import type { ChangeRecord } from './records.js';
import type { ApprovalTerms } from './approvals.js';
import { changeHash } from './change.js';

const payload = (c: ChangeRecord) =>
  Buffer.from('prodguard-request:v1:' + canonicalJson({ hash: c.hash, environment: c.environment, requester: c.author, requestedAt: c.requestedAt, migrations: c.migrations.map((m) => ({ file: m.file, sha256: m.sha256 })) }));

export function signRequest(c: ChangeRecord, key: KeyObject): ChangeRecord {
  return { ...c, publicKey: formatPublicKey(createPublicKey(key)), signature: sign(null, payload(c), key).toString('base64') };
}

export type RequestVerdict = { ok: true; requester: string } | { ok: false; reason: string };

export function verifyRequest(c: ChangeRecord, terms: ApprovalTerms): RequestVerdict {
  if (!c.signature || !c.publicKey) return { ok: false, reason: `the request of change ${c.hash.slice(0, 12)} is not signed (an unsigned request is no request; prodguard migrate request --key <file>)` };
  if (changeHash(c.environment, c.migrations) !== c.hash) return { ok: false, reason: `the request of change ${c.hash.slice(0, 12)} was tampered with (its migrations do not give its hash)` };
  const m = terms.members.find((x) => x.name === c.author);
  if (!m) return { ok: false, reason: `the requester "${c.author}" is not in ${terms.source}` };
  if (!m.publicKey || m.publicKey.trim() !== c.publicKey.trim()) return { ok: false, reason: `the request is not signed with ${c.author}'s key in ${terms.source}` };
  let ok = false;
  try {
    ok = verify(null, payload(c), parsePublicKey(m.publicKey), Buffer.from(c.signature, 'base64'));
  } catch {
    ok = false;
  }
  return ok ? { ok: true, requester: m.name } : { ok: false, reason: `the request of change ${c.hash.slice(0, 12)} has an invalid signature (edited after signing, or not signed by ${c.author})` };
}
