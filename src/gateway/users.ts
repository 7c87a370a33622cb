/**
 * Gateway users: a login name and a SCRAM-SHA-256 verifier (never the password), mapped to a
 * member of the team in prodguard.yaml — the audit names the person, not a shared account. Kept in
 * the state store, which the gateway's host holds; the person connecting never sees it.
 */
import { randomBytes } from 'node:crypto';
import type { StateStore } from '../store/store.js';
import type { Member } from '../config/schema.js';
import { UsageError } from '../errors.js';
import { makeVerifier } from './scram.js';

export const USERS_COLLECTION = 'gateway.users';
const NAME = /^[a-z_][a-z0-9_.@-]{0,62}$/i;

export interface GatewayUser {
  name: string;
  /** The team member this login belongs to (prodguard.yaml `team[].name`). */
  member: string;
  verifier: string;
  createdAt: string;
  createdBy: string;
}

export function generatePassword(): string {
  return randomBytes(24).toString('base64url');
}

export async function addUser(store: StateStore, team: Member[], u: { name: string; member: string; password: string; createdBy: string }): Promise<GatewayUser> {
  if (!NAME.test(u.name)) throw new UsageError(`gateway user name "${u.name}" is not valid (letters, digits, _ . @ -; at most 63)`, 'gateway.user');
  if (!team.some((m) => m.name === u.member)) {
    throw new UsageError(`"${u.member}" is not a team member in prodguard.yaml (team: ${team.map((m) => m.name).join(', ') || 'empty'})`, 'gateway.user');
  }
  if (u.password.length < 12) throw new UsageError('a gateway password needs at least 12 characters', 'gateway.user');
  if (await store.get(USERS_COLLECTION, u.name)) throw new UsageError(`gateway user "${u.name}" already exists (remove it first to reset the password)`, 'gateway.user');
  const user: GatewayUser = { name: u.name, member: u.member, verifier: makeVerifier(u.password), createdAt: new Date().toISOString(), createdBy: u.createdBy };
  await store.put(USERS_COLLECTION, u.name, user);
  return user;
}

export async function removeUser(store: StateStore, name: string): Promise<void> {
  if (!(await store.delete(USERS_COLLECTION, name))) throw new UsageError(`no gateway user "${name}"`, 'gateway.user');
}

export async function listUsers(store: StateStore): Promise<GatewayUser[]> {
  return (await store.list<GatewayUser>(USERS_COLLECTION, { order: 'oldest' })).map((d) => d.doc);
}

export async function getUser(store: StateStore, name: string): Promise<GatewayUser | null> {
  return store.get<GatewayUser>(USERS_COLLECTION, name);
}
