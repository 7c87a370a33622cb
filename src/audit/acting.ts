/**
 * A context whose audit records name an actor the operation has verified (red team ap-082): once a
 * deploy has verified the CI platform's token and claimed it in production, every record it
 * writes from then on (backup, apply, verify) is that identity's, not the self-declared name.
 * Records that name their own actor keep it.
 */
import type { Context } from '../context.js';
import type { ActorSource } from './actor.js';

export function actingAs(ctx: Context, actor: string, actorSource: Extract<ActorSource, 'ci-token' | 'signature'>): Context {
  return { ...ctx, audit: (input) => ctx.audit(input.actor === undefined ? { ...input, actor, actorSource } : input) };
}
